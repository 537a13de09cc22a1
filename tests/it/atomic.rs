//! Atomic writes: a file is replaced whole or not at all, and no temporary
//! file survives either way.

use striate::atomic;

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn replaces_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.json");
    atomic::write_str(&p, "a much longer first version of the file").unwrap();
    atomic::write_str(&p, "short").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "short");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_failed_write_keeps_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty folder: the final rename fails.
    let target = dir.path().join("checkpoint.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"old").unwrap();
    let err = atomic::write(&target, b"new contents").unwrap_err().to_string();
    assert!(err.contains("checkpoint.safetensors"), "{err}");
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"old");
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
    // A folder that does not exist is an error naming the path.
    let err = atomic::write(&dir.path().join("missing/x.json"), b"{}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing/x.json"), "{err}");
}

/// A symlink planted at the temporary name is replaced, never followed: the
/// file it points to keeps its content.
#[test]
fn a_planted_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let target = dir.path().join("model.toml");
    let tmp = dir.path().join(format!(".model.toml.tmp-{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();
    atomic::write_str(&target, "written").unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "written");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn stale_temporaries_of_other_processes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("checkpoint.safetensors");
    std::fs::write(dir.path().join(".checkpoint.safetensors.tmp-99999"), b"half").unwrap();
    std::fs::write(dir.path().join(".other.tmp-99999"), b"not ours").unwrap();
    assert_eq!(atomic::remove_stale(std::slice::from_ref(&target)).unwrap(), 1);
    assert_eq!(leftovers(dir.path()), vec![".other.tmp-99999".to_string()]);
}
