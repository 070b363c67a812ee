//! The start-up baseline of `cargo bench --bench ratios -- startup`: the smallest function
//! `lambda_runtime` can run, built with the same profile as rootwatch.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(lambda_runtime::run(service_fn(
        |e: LambdaEvent<Value>| async move { Ok::<Value, Error>(e.payload) },
    )))
}
