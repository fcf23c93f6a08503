//! cloudnic.inf lint: sections and references resolve, the hardware IDs are
//! exactly the shared crates' PCI tables, and every keyword's type, default
//! and bounds equal the parser's table (logic::keywords::KEYWORDS).

use std::collections::{BTreeMap, BTreeSet};

use cloudnic_windows::logic::keywords::{KeywordKind, KEYWORDS};
use cloudnic_windows::logic::resources::all_device_ids;

struct Inf {
    /// Section name (lower case) → lines (comments and blanks removed).
    sections: BTreeMap<String, Vec<String>>,
}

fn strip_comment(line: &str) -> &str {
    // `;` starts a comment unless inside quotes.
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

fn load() -> Inf {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/cloudnic.inf");
    let text = std::fs::read_to_string(path).expect("cloudnic.inf");
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for raw in text.lines() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let key = name.trim().to_ascii_lowercase();
            assert!(
                !sections.contains_key(&key),
                "section [{name}] defined twice"
            );
            sections.insert(key.clone(), Vec::new());
            cur = Some(key);
        } else {
            let sec = cur.as_ref().expect("line before any section");
            sections.get_mut(sec).unwrap().push(line.to_string());
        }
    }
    Inf { sections }
}

impl Inf {
    fn section(&self, name: &str) -> &[String] {
        self.sections
            .get(&name.to_ascii_lowercase())
            .unwrap_or_else(|| panic!("missing section [{name}]"))
    }

    /// `key = value` entries of a section.
    fn entries(&self, name: &str) -> Vec<(String, String)> {
        self.section(name)
            .iter()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            })
            .collect()
    }

    fn value(&self, section: &str, key: &str) -> String {
        self.entries(section)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .unwrap_or_else(|| panic!("[{section}] has no {key}"))
            .1
    }
}

fn split_fields(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect()
}

#[test]
fn version_and_class() {
    let inf = load();
    assert_eq!(inf.value("Version", "Signature"), "\"$WINDOWS NT$\"");
    assert_eq!(inf.value("Version", "Class"), "Net");
    assert_eq!(
        inf.value("Version", "ClassGUID").to_ascii_lowercase(),
        "{4d36e972-e325-11ce-bfc1-08002be10318}"
    );
    assert_eq!(inf.value("Version", "CatalogFile"), "cloudnic.cat");
    assert!(inf.value("Version", "DriverVer").contains(','));
    let ddinstall = "cloudnic.ndi.NT";
    assert_eq!(inf.value(ddinstall, "*IfType"), "6");
    assert_eq!(inf.value(ddinstall, "*MediaType"), "0");
    assert_eq!(inf.value(ddinstall, "*PhysicalMediaType"), "14");
    assert_eq!(inf.value(ddinstall, "BusType"), "5");
    assert!(inf
        .value("cloudnic.ndi.NT.Services", "AddService")
        .starts_with("cloudnic, 2,"));
    assert_eq!(
        inf.value("cloudnic.Service", "ServiceBinary"),
        "%13%\\cloudnic.sys"
    );
}

#[test]
fn hardware_ids_equal_the_shared_tables() {
    let inf = load();
    let manufacturer = inf.entries("Manufacturer");
    assert_eq!(manufacturer.len(), 1);
    let fields = split_fields(&manufacturer[0].1);
    let models = format!("{}.{}", fields[0], fields[1]);
    let mut ids = BTreeSet::new();
    for (_, v) in inf.entries(&models) {
        let f = split_fields(&v);
        assert_eq!(
            f[0], "cloudnic.ndi",
            "every model installs the same DDInstall section"
        );
        assert!(ids.insert(f[1].clone()), "duplicate hardware id {}", f[1]);
    }
    let want: BTreeSet<String> = all_device_ids()
        .map(|(v, d)| format!("PCI\\VEN_{v:04X}&DEV_{d:04X}"))
        .collect();
    assert_eq!(ids, want);
    assert!(ids.contains("PCI\\VEN_1D0F&DEV_EC20") && ids.contains("PCI\\VEN_1414&DEV_00BA"));
}

#[test]
fn references_resolve() {
    let inf = load();
    let strings: BTreeSet<String> = inf
        .entries("Strings")
        .into_iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    for (name, lines) in &inf.sections {
        for line in lines {
            // %token% string references (%13% and %%-escapes excluded).
            let mut rest = line.as_str();
            while let Some(start) = rest.find('%') {
                let after = &rest[start + 1..];
                let Some(end) = after.find('%') else { break };
                let token = &after[..end];
                if !token.is_empty() && !token.chars().all(|c| c.is_ascii_digit()) {
                    assert!(
                        strings.contains(&token.to_ascii_lowercase()),
                        "[{name}] uses undefined %{token}%"
                    );
                }
                rest = &after[end + 1..];
            }
            // AddReg / CopyFiles / AddService name sections that must exist.
            if let Some((k, v)) = line.split_once('=') {
                let k = k.trim().to_ascii_lowercase();
                let targets: Vec<String> = match k.as_str() {
                    "addreg" | "copyfiles" => split_fields(v),
                    "addservice" => split_fields(v).into_iter().skip(2).collect(),
                    _ => continue,
                };
                for t in targets.iter().filter(|t| !t.is_empty()) {
                    assert!(
                        inf.sections.contains_key(&t.to_ascii_lowercase()),
                        "[{name}] references missing [{t}]"
                    );
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct InfKeyword {
    ty: String,
    default: String,
    min: Option<u32>,
    max: Option<u32>,
    enum_values: BTreeSet<u32>,
    has_desc: bool,
}

fn inf_keywords(inf: &Inf) -> BTreeMap<String, InfKeyword> {
    let mut out: BTreeMap<String, InfKeyword> = BTreeMap::new();
    for line in inf.section("cloudnic.params.reg") {
        let f = split_fields(line);
        assert_eq!(f[0], "HKR", "{line}");
        let path = f[1]
            .strip_prefix("Ndi\\params\\")
            .unwrap_or_else(|| panic!("not a params key: {line}"));
        let (name, is_enum) = match path.strip_suffix("\\enum") {
            Some(n) => (n, true),
            None => (path, false),
        };
        let k = out.entry(name.to_string()).or_default();
        if is_enum {
            k.enum_values.insert(
                f[2].parse()
                    .unwrap_or_else(|_| panic!("enum value {}", f[2])),
            );
            continue;
        }
        match f[2].to_ascii_lowercase().as_str() {
            "paramdesc" => k.has_desc = true,
            "default" => k.default = f[4].clone(),
            "type" => k.ty = f[4].clone(),
            "min" => k.min = f[4].parse().ok(),
            "max" => k.max = f[4].parse().ok(),
            "step" => {}
            other => panic!("unexpected value {other} for {name}"),
        }
    }
    out
}

#[test]
fn keywords_match_the_parser() {
    let inf = load();
    let found = inf_keywords(&inf);
    let names: BTreeSet<&str> = KEYWORDS.iter().map(|k| k.name).collect();
    for n in found.keys() {
        assert!(
            names.contains(n.as_str()),
            "INF offers {n}, which the driver does not read"
        );
    }
    for spec in KEYWORDS {
        let k = found
            .get(spec.name)
            .unwrap_or_else(|| panic!("INF lacks {}", spec.name));
        assert!(k.has_desc, "{} has no ParamDesc", spec.name);
        assert_eq!(k.default, spec.default.to_string(), "{} default", spec.name);
        match spec.kind {
            KeywordKind::Enum(values) => {
                assert_eq!(k.ty, "enum", "{} type", spec.name);
                assert_eq!(
                    k.enum_values,
                    values.iter().copied().collect(),
                    "{} enum values",
                    spec.name
                );
            }
            KeywordKind::Int { min, max } => {
                assert_eq!(k.ty, "int", "{} type", spec.name);
                assert_eq!(
                    (k.min, k.max),
                    (Some(min), Some(max)),
                    "{} range",
                    spec.name
                );
                assert!(k.enum_values.is_empty());
            }
        }
    }
}
