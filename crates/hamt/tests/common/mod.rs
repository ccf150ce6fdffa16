//! Helpers shared by the integration tests.

use proptest::test_runner::Config as ProptestConfig;

/// `cases` cases, without regression files (the properties are cheap to rerun
/// and a failure prints its minimal input).
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
