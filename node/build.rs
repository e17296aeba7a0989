//! N-API's link settings for the addon (symbols resolved from the Node
//! process that loads it).
fn main() {
    napi_build::setup();
}
