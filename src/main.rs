//! The `rootwatch` binary: the Lambda function under the Lambda runtime (or its emulator), the
//! command line everywhere else.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        rootwatch::aws::bootstrap::prefer_ca_bundle();
        return match rootwatch::aws::bootstrap::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rootwatch: init failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    rootwatch::cli::main()
}
