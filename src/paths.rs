//! The checks of a run's outputs against its inputs and each other, made
//! before any input is read: every output (`-o`, `--rejects`, `--stats`,
//! `--output-dir` and the files it will write) is resolved through its
//! symlinks, and refused when it is an input (same device and inode), lies
//! inside an input tree given with `-r` (a rerun would read it back), or is
//! the same file as another output. Then each is checked to be creatable
//! (its directory exists and takes a temporary file), so a typo in
//! `--stats nodir/s.json` is found before hours of work, not after.
//!
//! Character devices (`/dev/null`, a terminal) are exempt: writing one never
//! destroys anything.

use crate::atomic;
use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use teamlog_core::framing::Source;

/// One output a flag names.
pub struct Output<'a> {
    /// The flag, for messages (`-o`, `--rejects`, `--stats`).
    pub flag: &'static str,
    pub path: &'a Path,
}

/// What the run reads.
pub struct Inputs<'a> {
    pub sources: &'a [Source],
    /// The directory arguments read with `-r`.
    pub trees: &'a [PathBuf],
}

/// `--output-dir` and the files it will write (made one at a time: a batch
/// of many inputs holds no list of them).
pub struct OutputTree<'a> {
    pub dir: &'a Path,
    pub targets: Box<dyn Iterator<Item = PathBuf> + 'a>,
}

type Identity = (u64, u64);

fn identity(m: &Metadata) -> Option<Identity> {
    (!m.file_type().is_char_device()).then(|| (m.dev(), m.ino()))
}

/// `path` made absolute with `.` and `..` and every symlink resolved, as far
/// as it exists; the part that does not exist yet is appended as given.
pub fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(c) = std::fs::canonicalize(at) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (at.parent(), at.components().next_back()) {
            (Some(parent), Some(Component::Normal(name))) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

fn shown(p: &Path) -> String {
    teamlog_core::terminal::sanitize(&p.display().to_string())
}

/// Refuses outputs that would destroy an input or another output, then
/// checks that each can be created. A regular file redirected to stdin
/// counts as that file.
pub fn check(
    inputs: &Inputs<'_>,
    outputs: &[Output<'_>],
    tree: Option<OutputTree<'_>>,
) -> anyhow::Result<()> {
    // Each input's file, by identity, to its index (named only if refused).
    let mut by_identity: HashMap<Identity, usize> = HashMap::new();
    for (i, s) in inputs.sources.iter().enumerate() {
        let m = match &s.path {
            Some(p) => std::fs::metadata(p),
            None => std::fs::metadata("/dev/stdin"),
        };
        if let Some(id) = m.ok().as_ref().and_then(identity) {
            by_identity.entry(id).or_insert(i);
        }
    }
    let input_name = |i: usize| {
        let s = &inputs.sources[i];
        match &s.path {
            Some(_) => shown(Path::new(&*s.name)),
            None => "stdin".to_string(),
        }
    };
    let trees: Vec<(PathBuf, &PathBuf)> = inputs.trees.iter().map(|t| (resolve(t), t)).collect();

    let mut claimed: HashMap<PathBuf, String> = HashMap::new();
    let mut claimed_ids: HashMap<Identity, String> = HashMap::new();
    for o in outputs {
        let what = format!("{} {}", o.flag, shown(o.path));
        let real = resolve(o.path);
        let meta = std::fs::metadata(&real).ok();
        if meta
            .as_ref()
            .is_some_and(|m| m.file_type().is_char_device())
        {
            continue;
        }
        if let Some(id) = meta.as_ref().and_then(identity) {
            if let Some(&input) = by_identity.get(&id) {
                let input = input_name(input);
                anyhow::bail!(
                    "{what} is the input {input}: writing it would destroy the input; choose another output path"
                );
            }
            if let Some(other) = claimed_ids.insert(id, what.clone()) {
                anyhow::bail!(
                    "{other} and {what} are the same file; give each output its own path"
                );
            }
        }
        for (root, given) in &trees {
            if real.starts_with(root) {
                anyhow::bail!(
                    "{what} lies inside the input tree {} (-r): the next run would read it as input; write it outside that directory",
                    shown(given)
                );
            }
        }
        if let Some(other) = claimed.insert(real.clone(), what.clone()) {
            anyhow::bail!("{other} and {what} are the same file; give each output its own path");
        }
    }

    if let Some(t) = tree {
        let real = resolve(t.dir);
        let what = format!("--output-dir {}", shown(t.dir));
        for (root, given) in &trees {
            if real.starts_with(root) || root.starts_with(&real) {
                anyhow::bail!(
                    "{what} overlaps the input tree {} (-r): outputs would replace inputs or be read back as input; choose a directory outside it",
                    shown(given)
                );
            }
        }
        for target in t.targets {
            let target = &target;
            // One resolution of the directory, not one per file.
            let tr = match target.strip_prefix(t.dir) {
                Ok(rel) => real.join(rel),
                Err(_) => resolve(target),
            };
            if let Some(other) = claimed.get(&tr) {
                anyhow::bail!(
                    "{other} is also the file {} that --output-dir writes; give it another path",
                    shown(target)
                );
            }
            let meta = std::fs::metadata(&tr).ok();
            if meta.as_ref().is_some_and(|m| m.is_dir()) {
                anyhow::bail!(
                    "--output-dir cannot write {}: is a directory; move it away or choose another output directory",
                    shown(target)
                );
            }
            if let Some(id) = meta.as_ref().and_then(identity) {
                if let Some(&input) = by_identity.get(&id) {
                    let input = input_name(input);
                    anyhow::bail!(
                        "--output-dir would replace the input {input} by its output {}; choose another output directory",
                        shown(target)
                    );
                }
            }
        }
    }

    for o in outputs {
        let real = resolve(o.path);
        let special = std::fs::metadata(&real).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if !special {
            let what = format!("cannot write {} to", o.flag);
            atomic::check_writable(o.path).map_err(|e| relabel(e, &what, o.path))?;
        }
    }
    Ok(())
}

/// `check_writable`'s error with the flag in front (`cannot write --stats
/// to nodir/s.json: No such file or directory`), naming the path once.
fn relabel(e: std::io::Error, what: &str, path: &Path) -> std::io::Error {
    let msg = e.to_string();
    let reason = msg
        .split_once(&format!("{}: ", path.display()))
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| atomic::plain(&e));
    std::io::Error::new(e.kind(), format!("{what} {}: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_follows_links_and_keeps_the_missing_part() {
        let d = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir(real.join("a")).unwrap();
        std::os::unix::fs::symlink(real.join("a"), real.join("l")).unwrap();
        assert_eq!(resolve(&real.join("l/x/y")), real.join("a/x/y"));
        assert_eq!(resolve(&real.join("a/../a/z")), real.join("a/z"));
    }
}
