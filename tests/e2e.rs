//! End-to-end tests: the real `baoxue-node` (and `baoxue-hub`) binaries on real data
//! directories. One test binary; the scenarios live in `tests/e2e/`, the helpers in
//! `tests/support/` (the `baoxue` package's library).

mod e2e {
    mod at_rest;
    mod backup;
    mod bad_input;
    mod case_details;
    mod dashboard;
    mod durability;
    mod handover;
    mod hub_alerts;
    mod identity;
    mod school_app;
    mod students;
    mod sync;
    mod units;
    mod walkthrough;
    mod warnings;
}
