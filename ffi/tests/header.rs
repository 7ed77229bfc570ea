//! include/runstore.h is current: it declares exactly the functions the
//! sources export, with the same parameters, and the same status codes.
//!
//! A cheap check that needs no cbindgen (regenerating the header is in
//! README.md): it reads the sources and the header as text.

use std::collections::BTreeMap;
use std::path::Path;

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

/// Every `extern "C" fn` in `src/`: its name, parameter names and whether
/// it returns `rs_result`, a `const char *`, or nothing.
fn exported() -> BTreeMap<String, (Vec<String>, String)> {
    let mut out = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(Path::new(CRATE).join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("#[unsafe(no_mangle)]") {
            let rest = &text[at..];
            let fn_at = rest.find("extern \"C\" fn ").unwrap() + "extern \"C\" fn ".len();
            let rest = &rest[fn_at..];
            let open = rest.find('(').unwrap();
            let name = rest[..open].trim().to_owned();
            let close = rest.find(')').unwrap();
            let params = rest[open + 1..close]
                .split(',')
                .filter_map(|p| p.split(':').next())
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            let after = &rest[close + 1..rest.find('{').unwrap()];
            let ret = match after.trim().trim_start_matches("->").trim() {
                "" => "void",
                "rs_result" => "rs_result",
                "*const c_char" => "const char *",
                other => panic!("{name}: add a C spelling of {other:?} to this test"),
            };
            let old = out.insert(name.clone(), (params, ret.to_owned()));
            assert!(old.is_none(), "{name} exported twice");
        }
    }
    out
}

/// The function declarations of the header: name → whole declaration.
fn declared(header: &str) -> BTreeMap<String, String> {
    let code: String = header
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !["//", "/*", "*", "#"].iter().any(|p| l.starts_with(p))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeMap::new();
    for decl in code.split(';') {
        // Drop what precedes the declaration in its chunk (`extern "C" {`).
        let decl = decl.rsplit(['{', '}']).next().unwrap_or_default();
        let decl = decl.split_whitespace().collect::<Vec<_>>().join(" ");
        // The name is the identifier right before the first `(`.
        let Some(paren) = decl.find('(') else {
            continue;
        };
        let name = decl[..paren].rsplit([' ', '*']).next().unwrap_or_default();
        if !name.starts_with("rs_") {
            continue;
        }
        let name = name.to_owned();
        out.insert(name, decl);
    }
    out
}

fn header() -> String {
    std::fs::read_to_string(Path::new(CRATE).join("include/runstore.h")).unwrap()
}

const STALE: &str = "include/runstore.h is stale: regenerate it (see ffi/README.md)";

#[test]
fn the_header_declares_every_exported_function() {
    let exported = exported();
    assert!(exported.len() >= 9, "found only {exported:?}");
    let declared = declared(&header());
    let names: Vec<_> = exported.keys().collect();
    assert_eq!(names, declared.keys().collect::<Vec<_>>(), "{STALE}");
    for (name, (params, ret)) in &exported {
        let decl = &declared[name];
        assert!(
            decl.starts_with(&format!("{ret} {name}("))
                || decl.starts_with(&format!("{ret}{name}(")),
            "{STALE}: {name} returns {ret}, header says {decl}"
        );
        let c_params: Vec<&str> = decl[decl.find('(').unwrap() + 1..decl.rfind(')').unwrap()]
            .split(',')
            .map(|p| p.trim().rsplit([' ', '*']).next().unwrap())
            .filter(|p| *p != "void")
            .collect();
        assert_eq!(c_params, *params, "{STALE}: parameters of {name}");
    }
}

#[test]
fn the_header_has_every_status_code() {
    let source = std::fs::read_to_string(Path::new(CRATE).join("src/error.rs")).unwrap();
    let codes: Vec<&str> = source
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("RS_") && l.contains(" = "))
        .collect();
    assert!(codes.len() >= 6, "{codes:?}");
    let header = header();
    let in_header: Vec<&str> = header
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("RS_") && l.contains(" = "))
        .collect();
    assert_eq!(codes, in_header, "{STALE}");
    assert!(
        header.contains("typedef struct rs_store rs_store;"),
        "{STALE}"
    );
}
