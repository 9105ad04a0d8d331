//! Form pieces shared by every page: labelled fields that show the error
//! for their own name, and a banner for errors that belong to no field.

use leptos::prelude::*;

use crate::error::AppError;

/// Returns the error of an action's latest result, if it failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// Returns whether an action's latest result succeeded.
pub fn action_succeeded<I, O>(action: ServerAction<I>) -> Signal<bool>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || matches!(action.value().get(), Some(Ok(_))))
}

/// A labelled input whose error message appears under it when the latest
/// submission failed on this field.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] minlength: Option<usize>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let message = move || error.get().filter(|e| e.field() == Some(name)).map(|e| e.to_string());
    let invalid = move || message().is_some().then_some("true");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                minlength=minlength
                aria-invalid=invalid
                aria-describedby=error_id.clone()
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="field-error" id=error_id role="alert">
                {message}
            </p>
        </div>
    }
}

/// The error message of one field, for forms that lay out their own controls.
/// Give the control `aria-describedby` = `field-{name}-error`.
#[component]
pub fn FieldMessage(name: &'static str, error: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || error.get().filter(|e| e.field() == Some(name)).map(|e| e.to_string());
    view! {
        <p class="field-error" id=format!("field-{name}-error") role="alert">
            {message}
        </p>
    }
}

/// Shows the latest error unless it belongs to one of `fields`, which show
/// their own.
#[component]
pub fn ErrorBanner(
    error: Signal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
) -> impl IntoView {
    let message = move || {
        error
            .get()
            .filter(|e| e.field().is_none_or(|field| !fields.contains(&field)))
            .map(|e| e.to_string())
    };
    view! {
        <Show when=move || message().is_some()>
            <div class="banner banner-error" role="alert">
                {message}
            </div>
        </Show>
    }
}

/// A submit button whose label changes while the action is pending.
#[component]
pub fn SubmitButton<I>(
    action: ServerAction<I>,
    label: &'static str,
    pending_label: &'static str,
    #[prop(optional)] class: &'static str,
) -> impl IntoView
where
    I: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    I::Output: Clone + Send + Sync + 'static,
    I::Error: Clone + Send + Sync + 'static,
{
    let pending = action.pending();
    view! {
        <button type="submit" class=class disabled=move || pending.get()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// Reloads the page once `done` turns true. Used after actions that change
/// what every part of the page shows (signing in or out, switching teams).
pub fn reload_when(done: Signal<bool>, target: Option<String>) {
    Effect::new(move |_| {
        if done.get() {
            let location = window().location();
            let _ = match &target {
                Some(target) => location.set_href(target),
                None => location.reload(),
            };
        }
    });
}

/// A labelled input bound to `form[name]`, for forms whose server function
/// takes one struct argument named `form`. The error for `name` shows under it.
#[component]
pub fn FormField(
    label: &'static str,
    name: &'static str,
    #[prop(into)] value: String,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    /// Id of a `<datalist>` with suggestions.
    #[prop(optional)]
    list: &'static str,
) -> impl IntoView {
    let invalid = move || error.get().is_some_and(|e| e.field() == Some(name)).then_some("true");
    view! {
        <div class="field">
            <label for=format!("form-{name}")>{label}</label>
            <input
                id=format!("form-{name}")
                name=format!("form[{name}]")
                type=kind
                value=value
                required=required
                list=(!list.is_empty()).then_some(list)
                aria-invalid=invalid
                aria-describedby=format!("field-{name}-error")
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <FieldMessage name error />
        </div>
    }
}

/// A checkbox bound to `form[name]`; the browser sends it only when ticked.
#[component]
pub fn FormCheckbox(label: &'static str, name: &'static str, checked: bool) -> impl IntoView {
    view! {
        <label class="checkbox">
            <input type="checkbox" name=format!("form[{name}]") checked=checked />
            {label}
        </label>
    }
}

/// Shows `children` to editors and above; viewers get a note instead of a
/// form the server would refuse anyway.
#[component]
pub fn EditorsOnly(children: ChildrenFn) -> impl IntoView {
    let viewer = crate::app::use_viewer();
    view! {
        <Suspense>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let allowed = viewer.await.ok().flatten().is_some_and(|viewer| viewer.can(crate::accounts::Role::Editor));
                    if allowed {
                        children().into_any()
                    } else {
                        view! {
                            <p class="banner banner-warn" role="status">
                                "Your role in this team is read-only. Ask a team admin to make you an editor to create or change monitors and reactions."
                            </p>
                        }
                            .into_any()
                    }
                })
            }}
        </Suspense>
    }
}
