//! Host-side bindings generated from `plugins/wit/scorer.wit`.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "scorer",
});

pub use sparring::scorer::types as wit;
