//! Pages for first-run setup, sign-in, invitations, the team and the account.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::*;
use crate::app::use_viewer;
use crate::components::{
    ErrorBanner, Field, SubmitButton, action_error, action_succeeded, reload_when,
};
use crate::time::format_utc;

/// Returns where to go after signing in: the `next` query parameter if it
/// is a path on this site, else the overview.
fn next_path() -> String {
    let query = use_query_map();
    let next = query.read_untracked().get("next");
    next.filter(|path| is_local_path(path)).unwrap_or_else(|| "/".to_string())
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let action = ServerAction::<Setup>::new();
    let error = action_error(action);
    reload_when(action_succeeded(action), Some("/".into()));
    view! {
        <Title text="Set up Rebound" />
        <main class="auth-page">
            <h1>"Welcome to Rebound"</h1>
            <p class="lead">
                "Create the first account. It owns a new team; invite the rest of your team from the team page afterwards."
            </p>
            <ActionForm action=action attr:class="form card">
                <ErrorBanner error fields=&["email", "password", "team_name"] />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 10 characters."
                    required=true
                    minlength=MIN_PASSWORD_LENGTH
                    error
                />
                <Field label="Team name" name="team_name" autocomplete="organization" required=true error />
                <SubmitButton action label="Create account" pending_label="Creating account…" />
            </ActionForm>
        </main>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = action_error(action);
    reload_when(action_succeeded(action), Some(next_path()));
    view! {
        <Title text="Sign in · Rebound" />
        <main class="auth-page">
            <h1>"Sign in to Rebound"</h1>
            <ActionForm action=action attr:class="form card">
                <ErrorBanner error fields=&["email", "password"] />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error
                />
                <SubmitButton action label="Sign in" pending_label="Signing in…" />
            </ActionForm>
            <p class="muted">
                "No account? Ask a team admin for an invitation link. Forgot your password? The operator can reset it with "
                <code>"rebound user reset-password"</code> "."
            </p>
        </main>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let details = Resource::new(token, invitation_details);
    let viewer = use_viewer();
    view! {
        <Title text="Invitation · Rebound" />
        <main class="auth-page">
            <Suspense fallback=|| view! { <p>"Loading the invitation…"</p> }>
                {move || Suspend::new(async move {
                    let signed_in = viewer.await.ok().flatten();
                    match details.await {
                        Ok(details) => {
                            view! {
                                <h1>"Join " {details.team_name.clone()} " on Rebound"</h1>
                                <p class="lead">
                                    "You are invited as " <strong>{details.role.label()}</strong>
                                    ". The link works once and expires " {format_utc(details.expires_at)} "."
                                </p>
                                {match signed_in {
                                    Some(viewer) => view! { <JoinForm token=token() email=viewer.email /> }.into_any(),
                                    None => view! { <SignUpForm token=token() /> }.into_any(),
                                }}
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <h1>"Invitation"</h1>
                                <div class="banner banner-error" role="alert">{error.to_string()}</div>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn SignUpForm(token: String) -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    reload_when(action_succeeded(action), Some("/".into()));
    view! {
        <ActionForm action=action attr:class="form card">
            <ErrorBanner error fields=&["email", "password"] />
            <input type="hidden" name="token" value=token />
            <Field label="Email" name="email" kind="email" autocomplete="email" required=true error />
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="new-password"
                hint="At least 10 characters."
                required=true
                minlength=MIN_PASSWORD_LENGTH
                error
            />
            <SubmitButton action label="Create account and join" pending_label="Creating account…" />
        </ActionForm>
        <p class="muted">"Already have an account? " <a href="/login">"Sign in"</a> ", then open this link again."</p>
    }
}

#[component]
fn JoinForm(token: String, email: String) -> impl IntoView {
    let action = ServerAction::<JoinTeam>::new();
    let error = action_error(action);
    reload_when(action_succeeded(action), Some("/".into()));
    view! {
        <ActionForm action=action attr:class="form card">
            <ErrorBanner error />
            <input type="hidden" name="token" value=token />
            <p>"You are signed in as " <strong>{email}</strong> "."</p>
            <SubmitButton action label="Join the team" pending_label="Joining…" />
        </ActionForm>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let viewer = use_viewer();
    let change_role = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let members = Resource::new(
        move || (change_role.version().get(), remove.version().get()),
        |_| list_members(),
    );
    let member_error = Signal::derive(move || {
        action_error(change_role).get().or_else(|| action_error(remove).get())
    });
    view! {
        <Title text="Team · Rebound" />
        <h1>"Team"</h1>
        <section class="card">
            <h2>"Members"</h2>
            <ErrorBanner error=member_error />
            <Suspense fallback=|| view! { <p>"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    let viewer = viewer.await.ok().flatten();
                    let manage = viewer.as_ref().is_some_and(|v| v.can(Role::Admin));
                    let own_id = viewer.as_ref().map(|v| v.user_id);
                    match members.await {
                        Ok(members) => {
                            view! {
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th>"Email"</th>
                                            <th>"Role"</th>
                                            <th>"Member since"</th>
                                            {manage.then(|| view! { <th>"Manage"</th> })}
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {members
                                            .into_iter()
                                            .map(|member| {
                                                let is_self = own_id == Some(member.user_id);
                                                view! {
                                                    <MemberRow
                                                        member
                                                        manage
                                                        is_self
                                                        change_role
                                                        remove
                                                    />
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <Suspense>
            {move || Suspend::new(async move {
                let manage = viewer.await.ok().flatten().is_some_and(|v| v.can(Role::Admin));
                manage.then(|| view! { <Invitations /> })
            })}
        </Suspense>
    }
}

#[component]
fn MemberRow(
    member: Member,
    manage: bool,
    is_self: bool,
    change_role: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let user_id = member.user_id.to_string();
    let remove_user_id = user_id.clone();
    let label = format!("Role of {}", member.email);
    view! {
        <tr>
            <td>{member.email.clone()} {is_self.then_some(" (you)")}</td>
            <td>{member.role.label()}</td>
            <td>{format_utc(member.joined_at)}</td>
            {manage
                .then(|| {
                    view! {
                        <td class="row-actions">
                            <ActionForm action=change_role attr:class="inline-form">
                                <input type="hidden" name="user_id" value=user_id />
                                <select name="role" aria-label=label>
                                    {Role::ALL
                                        .into_iter()
                                        .map(|role| {
                                            view! {
                                                <option value=role.as_str() selected=role == member.role>
                                                    {role.label()}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                                <button type="submit" class="secondary">"Change role"</button>
                            </ActionForm>
                            <details class="danger-zone">
                                <summary>{if is_self { "Leave…" } else { "Remove…" }}</summary>
                                <ActionForm action=remove attr:class="inline-form">
                                    <input type="hidden" name="user_id" value=remove_user_id />
                                    <button type="submit" class="danger">
                                        {if is_self { "Leave this team" } else { "Remove from the team" }}
                                    </button>
                                </ActionForm>
                            </details>
                        </td>
                    }
                })}
        </tr>
    }
}

#[component]
fn Invitations() -> impl IntoView {
    let create = ServerAction::<CreateInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let invitations = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_invitations(),
    );
    let error = action_error(create);
    let revoke_error = action_error(revoke);
    let flash = Resource::new(move || create.version().get(), |_| take_new_invitation());
    let created = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| flash.get().and_then(Result::ok).flatten())
    };
    view! {
        <section class="card">
            <h2>"Invite someone"</h2>
            <ActionForm action=create attr:class="form">
                <ErrorBanner error fields=&["role", "note"] />
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select id="invite-role" name="role">
                        <option value="viewer">"Viewer: reads everything"</option>
                        <option value="editor" selected=true>"Editor: also changes monitors and reactions"</option>
                        <option value="admin">"Admin: also manages members and connections"</option>
                    </select>
                </div>
                <Field label="Note (who is it for?)" name="note" error />
                <SubmitButton action=create label="Create invitation link" pending_label="Creating…" />
            </ActionForm>
            {move || {
                created()
                    .map(|new| {
                        view! {
                            <div class="banner banner-ok" role="status">
                                <p>
                                    "Invitation link for a new " {new.role.label()}
                                    ". Send it to them; it works once, expires " {format_utc(new.expires_at)}
                                    ", and is shown only now."
                                </p>
                                <input
                                    class="copy-field"
                                    readonly=true
                                    aria-label="Invitation link"
                                    value=new.link
                                />
                            </div>
                        }
                    })
            }}
            <h2>"Open invitations"</h2>
            <ErrorBanner error=revoke_error />
            <Suspense fallback=|| view! { <p>"Loading invitations…"</p> }>
                {move || Suspend::new(async move {
                    match invitations.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No open invitations."</p> }.into_any(),
                        Ok(list) => {
                            view! {
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th>"Role"</th>
                                            <th>"Note"</th>
                                            <th>"Created by"</th>
                                            <th>"Expires"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|invitation| {
                                                view! {
                                                    <tr>
                                                        <td>{invitation.role.label()}</td>
                                                        <td>{invitation.note}</td>
                                                        <td>{invitation.created_by.unwrap_or_default()}</td>
                                                        <td>{format_utc(invitation.expires_at)}</td>
                                                        <td>
                                                            <ActionForm action=revoke attr:class="inline-form">
                                                                <input
                                                                    type="hidden"
                                                                    name="invitation_id"
                                                                    value=invitation.id.to_string()
                                                                />
                                                                <button type="submit" class="secondary">"Revoke"</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="banner banner-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let saved = action_succeeded(action);
    // Passwords should not stay in the fields once they are changed.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if saved.get()
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    view! {
        <Title text="Account · Rebound" />
        <h1>"Account"</h1>
        <section class="card">
            <h2>"Change password"</h2>
            <ActionForm action=action node_ref=form attr:class="form">
                <ErrorBanner error fields=&["current_password", "new_password"] />
                <Show when=move || saved.get()>
                    <p class="banner banner-ok" role="status">
                        "Password changed. Your other sessions were signed out."
                    </p>
                </Show>
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error
                />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 10 characters."
                    required=true
                    minlength=MIN_PASSWORD_LENGTH
                    error
                />
                <SubmitButton action label="Change password" pending_label="Saving…" />
            </ActionForm>
        </section>
    }
}

#[component]
pub fn NewTeamPage() -> impl IntoView {
    let action = ServerAction::<CreateTeam>::new();
    let error = action_error(action);
    reload_when(action_succeeded(action), Some("/".into()));
    view! {
        <Title text="New team · Rebound" />
        <h1>"Create a team"</h1>
        <ActionForm action=action attr:class="form card">
            <ErrorBanner error fields=&["team_name"] />
            <p>"You become the owner of the new team and can invite others to it."</p>
            <Field label="Team name" name="team_name" required=true error />
            <SubmitButton action label="Create team" pending_label="Creating…" />
        </ActionForm>
    }
}
