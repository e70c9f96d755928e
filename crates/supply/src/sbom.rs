//! The dependency list as a CycloneDX 1.5 JSON document: the binary as the described
//! component, each crate as a library with its package URL, license and checksum.
//! Deterministic (no timestamp, no random serial number), so two builds from the same
//! lock file give the same document.

use serde_json::{Value, json};

use crate::{DEPENDENCIES, Dependency, VERSION};

pub fn sbom() -> Value {
    let components: Vec<Value> = DEPENDENCIES.iter().map(component).collect();
    let root = purl("palisade", VERSION);
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "bom-ref": root,
                "name": "palisade",
                "version": VERSION,
                "purl": root,
            },
            "tools": { "components": [ { "type": "application", "name": "palisade version --sbom", "version": VERSION } ] },
        },
        "components": components,
    })
}

fn purl(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{version}")
}

fn component(dependency: &Dependency) -> Value {
    let reference = purl(dependency.name, dependency.version);
    let mut component = json!({
        "type": "library",
        "bom-ref": reference,
        "name": dependency.name,
        "version": dependency.version,
        "purl": reference,
    });
    if !dependency.license.is_empty() {
        component["licenses"] = json!([{ "expression": dependency.license }]);
    }
    if !dependency.sha256.is_empty() {
        component["hashes"] = json!([{ "alg": "SHA-256", "content": dependency.sha256 }]);
    }
    if dependency.source == "workspace" {
        component["group"] = json!("palisade");
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_crate_is_a_component_with_its_package_url() {
        let document = sbom();
        assert_eq!(document["bomFormat"], "CycloneDX");
        let components = document["components"].as_array().unwrap();
        assert_eq!(components.len(), DEPENDENCIES.len());
        let tokio = components.iter().find(|c| c["name"] == "tokio").unwrap();
        let version = tokio["version"].as_str().unwrap();
        assert_eq!(tokio["purl"], format!("pkg:cargo/tokio@{version}"));
        assert_eq!(tokio["hashes"][0]["alg"], "SHA-256");
        assert_eq!(sbom(), document, "deterministic");
    }
}
