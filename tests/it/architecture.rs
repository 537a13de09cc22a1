//! The library's layers point one way: a module may use only the modules
//! listed before it in [`ORDER`] (the order the README's architecture section
//! draws). Doc comments may link anywhere; code may not.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest first.
const ORDER: &[&str] = &[
    "error", "scalar", "rng", "atomic", "budget", "tensor", "metrics", "kernels", "io", "ops", "filter", "init",
    "layers", "model", "zoo", "weights", "transfer", "optim", "data", "train", "jets", "sources", "report", "run",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that `code` names as `crate::NAME`, outside comments.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.is_empty() {
                // `crate::{a, b}`: every name in the braces.
                let group = rest.trim_start_matches('{').split('}').next().unwrap_or("");
                used.extend(
                    group
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or("").to_string()),
                );
            } else {
                used.insert(name);
            }
        }
    }
    used.retain(|n| !n.is_empty() && n.chars().next().is_some_and(|c| c.is_lowercase()));
    used
}

#[test]
fn modules_only_use_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "bin" {
            continue;
        }
        seen.insert(top.clone());
        let rank = ORDER.iter().position(|m| *m == top);
        assert!(
            rank.is_some(),
            "{} is not in ORDER: place the new module in the layering",
            rel.display()
        );
        let rank = rank.unwrap();
        for used in used_modules(&std::fs::read_to_string(&file).unwrap()) {
            match ORDER.iter().position(|m| *m == used) {
                Some(r) if r < rank || used == top => {}
                Some(_) => wrong.push(format!("{} uses crate::{used}, which sits above {top}", rel.display())),
                None => wrong.push(format!("{} uses crate::{used}, which is not in ORDER", rel.display())),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    assert!(
        seen.len() >= ORDER.len() - 1,
        "ORDER names modules that no longer exist: {seen:?}"
    );
}

#[test]
fn the_scanner_sees_grouped_and_plain_paths_but_not_comments() {
    let code =
        "use crate::{io::npy, tensor::Tensor};\nuse crate::data::Dataset; // crate::run\n/// [`crate::report`]\n";
    let used: Vec<String> = used_modules(code).into_iter().collect();
    assert_eq!(used, ["data", "io", "tensor"]);
}
