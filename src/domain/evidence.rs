//! Rules for evidence files, as plain functions over bytes and names: what a
//! file really is (magic bytes, not its name), whether that agrees with what
//! the client declared and with the evidence kind, and a safe filename.

use super::{EvidenceKind, ValidationError};

/// How many leading bytes are kept for sniffing.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Filename extensions refused whatever the content: executables and scripts.
const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe", "dll", "com", "scr", "msi", "msp", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh",
    "hta", "cpl", "jar", "apk", "app", "sh", "bash", "zsh", "csh", "ksh", "py", "pl", "rb", "php", "elf", "so",
    "dylib", "bin", "run", "deb", "rpm", "lnk", "reg",
    // More scripts and things Windows runs or opens as code.
    "psd1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "msh", "msh1", "msh2", "mshxml", "wsc", "ws", "vb", "vbscript",
    "mjs", "cjs", "msc", "scf", "url", "inf", "ins", "isp", "pif", "gadget", "application", "appref-ms", "xll", "sct",
    "pyw", "pyc", "pyz", "lua", "tcl", "command", "fish", "applescript", "scpt", "workflow", "action", "mst", "chm",
    "settingcontent-ms", "library-ms", "diagcab", "appx", "msix", "appxbundle", "ipa", "xbap", "iqy", "slk",
];

/// Archives (their contents are not inspected) and macro-enabled office
/// files: refused unless `CASEWORK_EVIDENCE_ALLOW_ARCHIVES=1`.
const ARCHIVE_EXTENSIONS: &[&str] = &[
    "zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "tbz", "tbz2", "xz", "txz", "zst", "lz", "lzma", "lz4", "cab", "iso",
    "img", "dmg", "vhd", "vhdx", "arj", "lzh", "ace", "z", "cpio", "war", "ear", "xpi", "crx",
    "docm", "dotm", "xlsm", "xltm", "xlsb", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm",
];

/// Sniffed or declared types of archives and macro-enabled office files.
fn is_archive_type(mime: &str) -> bool {
    const TYPES: &[&str] = &[
        "application/zip",
        "application/x-zip-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-lzip",
        "application/x-compress",
        "application/vnd.ms-cab-compressed",
        "application/x-unix-archive",
        "application/x-cpio",
        "application/x-iso9660-image",
        "application/x-apple-diskimage",
    ];
    TYPES.contains(&mime) || mime.contains("macroenabled")
}

/// The name as Windows and most tools will see it: without Unicode format
/// characters (zero-width spaces, bidirectional overrides that disguise
/// `exe.pdf` as `fdp.exe`, soft hyphens) and without the trailing dots and
/// spaces Windows silently drops (`payroll.bat.` lands as `payroll.bat`).
pub fn effective_name(name: &str) -> String {
    let visible: String = name.chars().filter(|c| !is_format_char(*c)).collect();
    visible.trim_end_matches(|c: char| c == '.' || c.is_whitespace()).to_owned()
}

/// Unicode general category Cf (format) characters, plus the other invisible
/// fillers that are used to hide an extension.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Content types of executables and scripts (sniffed or declared).
const DANGEROUS_TYPES: &[&str] = &[
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/java",
    "application/java-archive",
    "application/java-vm",
    "application/vnd.android.dex",
    "application/vnd.android.dey",
    "application/vnd.android.package-archive",
    "application/wasm",
    "application/x-llvm",
    "application/x-sh",
    "application/x-shellscript",
    "text/x-shellscript",
    "application/javascript",
    "text/javascript",
    "application/x-javascript",
    "application/x-python",
    "text/x-python",
    "application/x-perl",
    "application/x-php",
    "application/x-msi",
    "application/hta",
];

/// What the first bytes of a file say it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// A MIME type: a known format, `text/plain`, or `application/octet-stream`.
    pub mime: String,
    /// An executable or a script.
    pub executable: bool,
}

/// Sniffs the leading bytes of a file (up to [`SNIFF_BYTES`]; `complete` when
/// they are the whole file).
pub fn sniff(head: &[u8], complete: bool) -> Sniffed {
    if head.starts_with(b"#!") {
        return Sniffed { mime: "text/x-shellscript".to_owned(), executable: true };
    }
    // The executable formats by their magic numbers, however short the file
    // (infer wants a plausible header length before it names some of them).
    const EXECUTABLES: &[(&[u8], &str)] = &[
        (b"MZ", "application/vnd.microsoft.portable-executable"),
        (b"\x7fELF", "application/x-executable"),
        (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
        (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
        (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
        (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    ];
    if let Some((_, mime)) = EXECUTABLES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Sniffed { mime: (*mime).to_owned(), executable: true };
    }
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type().to_owned();
        let executable = kind.matcher_type() == infer::MatcherType::App && !matches!(kind.extension(), "der" | "pem")
            || DANGEROUS_TYPES.contains(&mime.as_str());
        return Sniffed { mime, executable };
    }
    let mime = if looks_like_text(head, complete) { "text/plain" } else { "application/octet-stream" };
    Sniffed { mime: mime.to_owned(), executable: false }
}

/// UTF-8 without NUL bytes (a character cut at the end of the head is fine).
fn looks_like_text(head: &[u8], complete: bool) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// The `type/subtype` of a content type, lowercase, with common aliases folded.
pub fn essence(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".to_owned(),
        "audio/mp3" | "audio/mpeg3" | "audio/x-mp3" => "audio/mpeg".to_owned(),
        "audio/wav" | "audio/wave" | "audio/vnd.wave" => "audio/x-wav".to_owned(),
        "audio/x-m4a" | "audio/mp4" => "audio/m4a".to_owned(),
        "application/x-pdf" => "application/pdf".to_owned(),
        _ => essence,
    }
}

fn top_level(mime: &str) -> &str {
    mime.split('/').next().unwrap_or_default()
}

/// Text-like declared types that plain-text content may carry.
fn is_textual(mime: &str) -> bool {
    top_level(mime) == "text"
        || matches!(mime, "application/json" | "application/xml" | "message/rfc822" | "application/mbox")
}

/// Whether the sniffed family fits the kind of evidence.
fn fits_kind(kind: EvidenceKind, detected: &str) -> bool {
    let top = top_level(detected);
    let document = detected == "application/pdf"
        || detected == "application/rtf"
        || detected == "text/rtf"
        || detected.starts_with("application/vnd.openxmlformats-officedocument")
        || detected.starts_with("application/vnd.oasis.opendocument")
        || matches!(detected, "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" | "application/epub+zip");
    match kind {
        EvidenceKind::Screenshot | EvidenceKind::Photo => top == "image",
        EvidenceKind::Video => top == "video",
        EvidenceKind::CallRecording => top == "audio",
        EvidenceKind::Document => document || is_textual(detected) || top == "image",
        EvidenceKind::Email | EvidenceKind::ChatLog => is_textual(detected) || document,
        EvidenceKind::Other => true,
    }
}

fn what_kind_needs(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Screenshot | EvidenceKind::Photo => "an image",
        EvidenceKind::Video => "a video",
        EvidenceKind::CallRecording => "an audio recording",
        EvidenceKind::Document => "a document (PDF, office, text or scan)",
        EvidenceKind::Email | EvidenceKind::ChatLog => "text or a document",
        EvidenceKind::Other => "any non-executable file",
    }
}

/// Checks an uploaded file: not an executable or a script (by content, by
/// declared type or by extension), its content agrees with the declared type,
/// and it is what the kind of evidence should be. Returns the detected type.
pub fn check_file(
    field: &'static str,
    kind: EvidenceKind,
    filename: &str,
    declared: Option<&str>,
    sniffed: &Sniffed,
    allow_archives: bool,
) -> Result<String, ValidationError> {
    let refuse = |message: String| Err(ValidationError { field, message });
    let declared = declared.map(essence).filter(|d| !d.is_empty());
    let name = effective_name(filename);
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.trim().to_ascii_lowercase());
    if sniffed.executable
        || declared.as_deref().is_some_and(|d| DANGEROUS_TYPES.contains(&d))
        || extension.as_deref().is_some_and(|e| DANGEROUS_EXTENSIONS.contains(&e))
    {
        return refuse("executables and scripts are not accepted as evidence".to_owned());
    }
    let detected = sniffed.mime.as_str();
    if !allow_archives
        && (is_archive_type(detected)
            || declared.as_deref().is_some_and(is_archive_type)
            || extension.as_deref().is_some_and(|e| ARCHIVE_EXTENSIONS.contains(&e)))
    {
        return refuse("archives and macro-enabled office files are not accepted as evidence".to_owned());
    }
    if let Some(declared) = declared.as_deref().filter(|d| *d != "application/octet-stream") {
        let agrees = match detected {
            "application/octet-stream" => false,
            "text/plain" => is_textual(declared),
            _ if top_level(detected) == "application" => declared == detected,
            _ => top_level(declared) == top_level(detected),
        };
        if !agrees {
            return refuse(format!("the file is {detected}, not {declared} as declared"));
        }
    }
    if !fits_kind(kind, detected) {
        return refuse(format!("a {kind} must be {}; this file is {detected}", what_kind_needs(kind)));
    }
    Ok(detected.to_owned())
}

/// A filename safe to store and to send back: no directories, no control or
/// quoting characters, at most 200 characters, never empty.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let base = effective_name(base);
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | ':' | '|' | '?' | '*' | ';' | '%') { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let mut name: String = if cleaned.chars().count() > 200 {
        // Keep the extension when cutting.
        match cleaned.rsplit_once('.') {
            Some((stem, ext)) if ext.chars().count() <= 16 => {
                let stem: String = stem.chars().take(200 - ext.chars().count() - 1).collect();
                format!("{stem}.{ext}")
            }
            _ => cleaned.chars().take(200).collect(),
        }
    } else {
        cleaned.to_owned()
    };
    if name.is_empty() {
        name = "evidence".to_owned();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    fn check(kind: EvidenceKind, name: &str, declared: Option<&str>, bytes: &[u8]) -> Result<String, String> {
        check_file("file", kind, name, declared, &sniff(bytes, true), false).map_err(|e| e.message)
    }

    #[test]
    fn hidden_extensions_are_seen_through() {
        for name in ["payroll.bat.", "payroll.bat. . ", "payroll.bat\u{200B}", "pay\u{202E}roll.bat", "x.ps1\u{FEFF}.."] {
            assert!(check(EvidenceKind::Other, name, None, b"echo hi\n").is_err(), "{name:?}");
        }
        assert_eq!(effective_name("report.pdf\u{200B}. "), "report.pdf");
        assert_eq!(sanitize_filename("payroll.bat."), "payroll.bat");
    }

    #[test]
    fn archives_and_macros_need_the_setting() {
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0";
        assert!(check(EvidenceKind::Other, "logs.zip", None, zip).unwrap_err().contains("archives"));
        assert!(check(EvidenceKind::Other, "logs.txt", None, zip).is_err(), "by content");
        assert!(check(EvidenceKind::Document, "budget.xlsm", None, b"plain text").is_err(), "by name");
        assert!(check(EvidenceKind::Other, "x.txt", Some("application/vnd.ms-excel.sheet.macroEnabled.12"), b"hi").is_err());
        assert!(check_file("file", EvidenceKind::Other, "logs.zip", None, &sniff(zip, true), true).is_ok());
    }

    #[test]
    fn executables_and_scripts_are_refused_whatever_their_name() {
        assert!(check(EvidenceKind::Photo, "photo.png", Some("image/png"), PE).unwrap_err().contains("executables"));
        assert!(check(EvidenceKind::Other, "notes.txt", None, ELF).is_err());
        assert!(check(EvidenceKind::Other, "a.bin.txt", None, b"\xcf\xfa\xed\xfe\x07\0\0\x01").is_err());
        assert!(check(EvidenceKind::Document, "readme.txt", Some("text/plain"), b"#!/bin/sh\nrm -rf /\n").is_err());
        assert!(check(EvidenceKind::Other, "run.sh", None, b"echo hi\n").is_err());
        assert!(check(EvidenceKind::Other, "x.txt", Some("application/x-msdownload"), b"hello").is_err());
    }

    #[test]
    fn content_must_agree_with_the_declared_type_and_the_kind() {
        assert_eq!(check(EvidenceKind::Screenshot, "s.png", Some("image/png"), PNG).unwrap(), "image/png");
        assert_eq!(check(EvidenceKind::Photo, "s.png", None, PNG).unwrap(), "image/png");
        assert_eq!(check(EvidenceKind::Photo, "s.png", Some("application/octet-stream"), PNG).unwrap(), "image/png");
        assert!(check(EvidenceKind::Photo, "s.pdf", Some("application/pdf"), PNG).is_err());
        assert!(check(EvidenceKind::CallRecording, "s.png", Some("image/png"), PNG).unwrap_err().contains("audio"));
        assert!(check(EvidenceKind::Screenshot, "doc.pdf", Some("application/pdf"), PDF).is_err());
        assert_eq!(check(EvidenceKind::Document, "doc.pdf", Some("application/pdf"), PDF).unwrap(), "application/pdf");
        assert_eq!(check(EvidenceKind::ChatLog, "chat.txt", Some("text/plain; charset=utf-8"), "你好 hello".as_bytes()).unwrap(), "text/plain");
        assert!(check(EvidenceKind::ChatLog, "chat.txt", Some("image/png"), b"hello").is_err());
        assert!(check(EvidenceKind::Photo, "x.png", Some("image/png"), &[0, 1, 2, 3, 255]).is_err());
        assert_eq!(check(EvidenceKind::Other, "blob", None, &[0, 1, 2, 3, 255]).unwrap(), "application/octet-stream");
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "你好".as_bytes();
        assert_eq!(sniff(&text[..4], false).mime, "text/plain");
        assert_eq!(sniff(&text[..4], true).mime, "application/octet-stream");
    }

    #[test]
    fn filenames_lose_paths_and_dangerous_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\me\\photo 1.png"), "photo 1.png");
        assert_eq!(sanitize_filename("a\"b\r\nc.png"), "a_b__c.png");
        assert_eq!(sanitize_filename("..."), "evidence");
        assert_eq!(sanitize_filename(".htaccess"), "htaccess");
        assert_eq!(sanitize_filename("照片.jpg"), "照片.jpg");
        let long = format!("{}.png", "x".repeat(300));
        let cut = sanitize_filename(&long);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with(".png"));
    }
}
