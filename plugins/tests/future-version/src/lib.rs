//! Built against `sparring:scorer@0.2.0`, which no host implements yet.

wit_bindgen::generate!({ path: "wit", world: "scorer" });

struct Future;

impl Guest for Future {
    fn describe() -> String {
        sparring::scorer::host::log("from the future");
        "future".into()
    }
}

export!(Future);
