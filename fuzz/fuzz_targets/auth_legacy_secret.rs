#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| callsaga_api::fuzzing::auth_legacy_secret(data));
