//! Script-free SVG for tenant logos: the document is parsed (roxmltree; no DTD, so no entity
//! tricks) and every element and attribute must be on an allow-list of plain drawing. What is
//! refused includes scripts, event handlers however they are written (after `/`, newlines or
//! entity-encoded characters, which the parser decodes before the check), links and
//! references to anything but a fragment of the document itself (`javascript:` however
//! encoded, `data:`, other documents), animation elements that could set such a reference
//! (`set`, `animate`, …), `foreignObject`, `style` and embedded images.
//!
//! Logos are also served with a sandboxing Content-Security-Policy and shown only through
//! `<img>`, where no script runs; this check keeps the stored document harmless wherever it
//! is opened.

const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "metadata",
    "symbol",
    "use",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
];

const ATTRIBUTES: &[&str] = &[
    "id",
    "class",
    "version",
    "baseProfile",
    "viewBox",
    "preserveAspectRatio",
    "width",
    "height",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "d",
    "points",
    "pathLength",
    "transform",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "opacity",
    "color",
    "display",
    "visibility",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "patternUnits",
    "patternContentUnits",
    "patternTransform",
    "clip-path",
    "clip-rule",
    "clipPathUnits",
    "mask",
    "maskUnits",
    "maskContentUnits",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "letter-spacing",
    "word-spacing",
    "dx",
    "dy",
    "href",
    "shape-rendering",
    "vector-effect",
    "xml:space",
    "lang",
];

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Whether `text` is an SVG document of plain drawing only (see the module docs).
pub fn is_safe(text: &str) -> bool {
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: 20_000, ..Default::default() };
    let Ok(doc) = roxmltree::Document::parse_with_options(text, options) else { return false };
    let root = doc.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NS) {
        return false;
    }
    doc.descendants().all(|node| match node.node_type() {
        roxmltree::NodeType::Root | roxmltree::NodeType::Text | roxmltree::NodeType::Comment => true,
        roxmltree::NodeType::PI => false,
        roxmltree::NodeType::Element => element_ok(&node),
    })
}

fn element_ok(node: &roxmltree::Node<'_, '_>) -> bool {
    let tag = node.tag_name();
    if tag.namespace() != Some(SVG_NS) || !ELEMENTS.contains(&tag.name()) {
        return false;
    }
    node.attributes().all(|a| {
        let name = a.name();
        let known = match a.namespace() {
            None => ATTRIBUTES.contains(&name),
            Some(XLINK_NS) => name == "href",
            Some(XML_NS) => matches!(name, "space" | "lang"),
            Some(_) => false,
        };
        known && value_ok(name, a.value())
    })
}

/// A reference goes only to a fragment of this document (`#id`, `url(#id)`); no value names a
/// scheme.
fn value_ok(name: &str, value: &str) -> bool {
    let squeezed: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    if squeezed.contains("javascript:") || squeezed.contains("data:") || squeezed.contains("vbscript:") {
        return false;
    }
    // presentation attributes are read as CSS, where `\75rl(` is `url(`: no escapes at all
    if value.contains('\\') {
        return false;
    }
    if name == "href" {
        return value.starts_with('#') && !value.contains(':');
    }
    // `url(...)` in paint and clip values: local fragments only
    let mut rest = squeezed.as_str();
    while let Some(i) = rest.find("url(") {
        rest = &rest[i + 4..];
        if !rest.starts_with('#') && !rest.starts_with("'#") && !rest.starts_with("\"#") {
            return false;
        }
    }
    !squeezed.contains("expression(")
}

#[cfg(test)]
mod tests {
    use super::is_safe;

    const NS: &str = r#"xmlns="http://www.w3.org/2000/svg""#;

    fn svg(body: &str) -> String {
        format!(r#"<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">{body}</svg>"#)
    }

    #[test]
    fn plain_drawings_pass() {
        assert!(is_safe(&svg(r##"<circle r="4" fill="#0b3d91"/>"##)));
        assert!(is_safe(&svg(
            r##"<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/><use href="#g"/><text x="1" y="9">吉林</text>"##
        )));
        assert!(is_safe(&format!("<?xml version=\"1.0\"?>\n<!-- logo -->\n{}", svg("<g/>"))));
    }

    #[test]
    fn every_known_bypass_is_refused() {
        for bad in [
            svg("<script>alert(1)</script>"),
            format!(r#"<svg {NS} onload="alert(1)"/>"#),
            format!("<svg {NS}/onload=alert(1)>"),
            format!("<svg {NS}\nonload=\"alert(1)\"/>"),
            format!("<svg {NS}\tonload=\"alert(1)\"></svg>"),
            svg(r#"<rect onclick="x()"/>"#),
            svg(r#"<rect ONLOAD="x()"/>"#),
            svg(r#"<a href="javascript:alert(1)"><rect/></a>"#),
            svg(r#"<use href="&#106;avascript:alert(1)"/>"#),
            svg(r#"<use href="&#x6A;&#x61;vascript:alert(1)"/>"#),
            svg(r#"<use xlink:href="java&#x09;script:alert(1)"/>"#),
            svg(r#"<use href="https://evil.example/x.svg#a"/>"#),
            svg(r#"<use href="data:image/svg+xml;base64,PHN2Zz4="/>"#),
            svg(r#"<set attributeName="href" to="javascript:alert(1)"/>"#),
            svg(r##"<a><animate attributeName="href" values="javascript:alert(1)"/><rect/></a>"##),
            svg(r#"<animateTransform attributeName="transform"/>"#),
            svg(
                r#"<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></body></foreignObject>"#,
            ),
            svg(r#"<style>@import url(https://evil.example/x.css);</style>"#),
            svg(r#"<image href="https://evil.example/t.png"/>"#),
            svg(r#"<rect fill="url(https://evil.example/p.svg#a)"/>"#),
            svg(r#"<rect fill="\75rl(https://evil.example/p.svg#a)"/>"#),
            svg(r#"<rect fill="u\rl(https://evil.example/p.svg#a)"/>"#),
            svg(r#"<rect style="fill:red"/>"#),
            svg(r#"<iframe xmlns="http://www.w3.org/1999/xhtml" src="x"/>"#),
            svg("<?xml-stylesheet href=\"x.css\"?><g/>"),
            format!(
                "<!DOCTYPE svg [<!ENTITY x \"javascript:alert(1)\">]><svg {NS}><use href=\"&x;\"/></svg>"
            ),
            "<html><svg/></html>".into(),
            "<svg><circle/></svg>".into(),
            "not xml".into(),
        ] {
            assert!(!is_safe(&bad), "{bad}");
        }
    }
}
