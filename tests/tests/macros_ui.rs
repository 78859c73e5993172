//! Compile-time behaviour of the macros: passing forms compile and run; each
//! mistake is a compile error pointing at the offending tokens with a pinned
//! message.

use std::path::Path;
use std::process::Command;

#[test]
fn macro_ui() {
    {
        let t = trybuild::TestCases::new();
        t.pass("tests/ui/pass/*.rs");
        t.compile_fail("tests/ui/fail/*.rs");
    } // trybuild runs here

    // A parameter type that is not `Deserialize + JsonSchema`: rustc's help text
    // for it (the list of other implementors) changes with what is in scope, so
    // the message is not pinned whole. What matters is pinned: the error names
    // the type, points at the parameter, and says what to derive.
    let stderr_param = compile_alone("param_not_jsonschema");
    assert!(
        stderr_param.contains("src/main.rs:7:18: error[E0277]: `Opaque` cannot be a tool argument: it must implement `serde::Deserialize` and `schemars::JsonSchema`"),
        "{stderr_param}"
    );
    let stderr = compile_alone("return_not_serialize");
    assert!(
        stderr.contains("src/main.rs:9:29: error[E0277]: `Summary` cannot be returned by a tool: it must implement `serde::Serialize`"),
        "{stderr}"
    );
    // typecall's message alone: no errors from the derives on the hidden
    // argument struct, nothing about generated code.
    let errors: Vec<&str> = stderr_param
        .lines()
        .filter(|l| l.contains("error["))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr_param}");
    assert!(
        errors[0].contains("cannot be a tool argument"),
        "{stderr_param}"
    );
    let long_param = compile_alone_long("param_not_jsonschema");
    assert_eq!(long_param.matches("error[").count(), 1, "{long_param}");
    assert!(
        !long_param.contains("__TypecallArgs") && !long_param.contains("__private::"),
        "{long_param}"
    );
    // A return type that is not `Serialize`: only typecall's message, nothing
    // about serde's internals or typecall's private helpers.
    let long = compile_alone_long("return_not_serialize");
    assert_eq!(long.matches("error[").count(), 1, "{long}");
    assert!(
        !long.contains("serde_core") && !long.contains("__private::"),
        "{long}"
    );
}

/// Builds `tests/ui/custom/<name>.rs` as a binary depending on typecall, in
/// trybuild's target directory (its dependencies are already built there), and
/// returns what the compiler said. The build must fail.
fn compile_alone(name: &str) -> String {
    compile_with(name, "--message-format=short")
}

/// As [`compile_alone`], with rustc's whole diagnostics (notes and helps).
fn compile_alone_long(name: &str) -> String {
    compile_with(name, "--message-format=human")
}

fn compile_with(name: &str, format: &str) -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = here.parent().unwrap();
    let project = workspace.join("target/tests/ui-custom").join(name);
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::copy(
        here.join(format!("tests/ui/custom/{name}.rs")),
        project.join("src/main.rs"),
    )
    .unwrap();
    let manifest = format!(
        "[package]\nname = \"ui-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         typecall = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nschemars = \"1\"\n\n[workspace]\n",
        workspace.join("runtime")
    );
    std::fs::write(project.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", format])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", workspace.join("target/tests/trybuild"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{name} compiled, but it must not");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
