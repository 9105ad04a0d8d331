//! The configuration page: export the team's monitors and reactions as a
//! file, and import one with a dry run first.

use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::components::{ErrorBanner, SubmitButton, action_error};

/// A `data:` link that downloads `text` as a file, so the export needs no
/// second request and no script.
fn download_href(text: &str, format: FileFormat) -> String {
    let encoded: String = url_encode(text);
    format!("data:{};charset=utf-8,{encoded}", format.content_type())
}

fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[component]
pub fn ConfigPage() -> impl IntoView {
    let export = ServerAction::<ExportTeamConfig>::new();
    let import = ServerAction::<ImportTeamConfig>::new();
    let export_error = action_error(export);
    let import_error = action_error(import);
    let exported = move || export.value().get().and_then(Result::ok);
    let report = move || import.value().get().and_then(Result::ok);
    view! {
        <Title text="Configuration · Rebound" />
        <h1>"Configuration as code"</h1>
        <p class="lead">
            "The team's monitors and reactions as one YAML or JSON file, to keep in git. Reactions name their monitor, their app and their Heroku connection by its account's email; credentials in request headers are written as "
            <code>"<redacted>"</code> " and keep their stored value on import. Scripts use "
            <code>"GET"</code> " and " <code>"POST /api/v1/config"</code> "."
        </p>
        <section class="card">
            <h2>"Export"</h2>
            <ActionForm action=export attr:class="form">
                <ErrorBanner error=export_error />
                <div class="field">
                    <label for="export-format">"Format"</label>
                    <select id="export-format" name="format">
                        <option value="yaml">"YAML"</option>
                        <option value="json">"JSON"</option>
                    </select>
                </div>
                <SubmitButton action=export label="Export" pending_label="Exporting…" />
            </ActionForm>
            {move || {
                exported()
                    .map(|ExportedConfig { format, text }| {
                        let href = download_href(&text, format);
                        view! {
                            <textarea class="code" readonly=true rows="16" aria-label="Exported configuration">
                                {text}
                            </textarea>
                            <p>
                                <a href=href download=format!("rebound-config.{}", format.as_str())>
                                    "Download the file"
                                </a>
                            </p>
                        }
                    })
            }}
        </section>
        <section class="card">
            <h2>"Import"</h2>
            <p class="muted">
                "Creates monitors and reactions whose names are new and updates those whose names exist; it deletes nothing. The whole file is checked first, so an invalid file changes nothing."
            </p>
            <ActionForm action=import attr:class="form">
                <ErrorBanner error=import_error />
                <div class="field">
                    <label for="import-text">"Configuration file"</label>
                    <textarea id="import-text" name="text" class="code" rows="16" required=true></textarea>
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="dry_run" checked=true />
                    "Dry run: only show what would change"
                </label>
                <SubmitButton action=import label="Import" pending_label="Importing…" />
            </ActionForm>
            {move || {
                report()
                    .map(|report| {
                        let heading = if report.dry_run { "The import would:" } else { "Imported:" };
                        view! {
                            <div class="banner banner-ok" role="status">
                                <p>{heading}</p>
                                <ul data-testid="import-changes">
                                    {report
                                        .changes
                                        .iter()
                                        .map(|change| view! { <li>{change.describe()}</li> })
                                        .collect_view()}
                                </ul>
                            </div>
                        }
                    })
            }}
        </section>
    }
}
