//! Everything that talks to AWS: the Lambda function ([`function`]), publishing alerts to SNS
//! ([`sns`]), the shared DynamoDB store ([`dynamo`], behind [`store`]) and CloudTrail log files in
//! S3 ([`s3`]).

pub mod audit;
pub mod bootstrap;
pub mod dynamo;
pub mod errors;
pub mod function;
pub mod s3;
pub mod securityhub;
pub mod sns;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod windows;
