//! Compile-time behaviour of the macros: passing forms compile and run; each
//! mistake is a compile error pointing at the offending tokens with a pinned
//! message.

#[test]
fn macro_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
