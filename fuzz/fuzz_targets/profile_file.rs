#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mqtt_workbench_fuzz::profile_file(data));
