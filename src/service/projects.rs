//! Projects and organizations, with the tenancy rules: a resource the caller cannot see is
//! "not found" (its existence is not revealed); one they can see but not change is
//! "forbidden".
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Org, Project, ProjectPatch, Role};

fn check_name(name: &str, what: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 120 {
        return Err(AppError::Validation(format!("{what} name must be 1 to 120 characters")));
    }
    if n.chars().any(|c| c.is_control()) {
        return Err(AppError::Validation(format!("{what} name must not contain control characters")));
    }
    Ok(n.to_string())
}

fn check_description(d: &str) -> AppResult<()> {
    if d.chars().count() > 4000 {
        return Err(AppError::Validation("description must be at most 4000 characters".into()));
    }
    Ok(())
}

/// A project the caller can see; `write` also requires member rights or better.
pub async fn get(st: &AppState, caller: &Caller, id: &str, write: bool) -> AppResult<Project> {
    let p = st.store.project(caller.id(), id).await?.ok_or(AppError::NotFound("project"))?;
    if write && !p.role.can_write() {
        return Err(AppError::Forbidden(format!("you are a {} of this project and cannot change it", p.role.as_str())));
    }
    Ok(p)
}

/// Creates a personal project, or an org project when `org_id` is given (members and up).
pub async fn create(
    st: &AppState,
    caller: &Caller,
    name: &str,
    description: &str,
    org_id: Option<&str>,
) -> AppResult<Project> {
    let name = check_name(name, "project")?;
    check_description(description)?;
    if let Some(org) = org_id {
        let o = st.store.org(caller.id(), org).await?.ok_or(AppError::NotFound("organization"))?;
        if !o.role.can_write() {
            return Err(AppError::Forbidden("viewers cannot create projects in this organization".into()));
        }
    }
    let p = st.store.create_project(caller.id(), org_id, &name, description).await?;
    st.store.audit(Some(caller.id()), "project.create", Some(&p.id), "{}", None).await?;
    Ok(p)
}

/// Renames or re-describes a project.
pub async fn update(st: &AppState, caller: &Caller, id: &str, patch: &ProjectPatch) -> AppResult<Project> {
    get(st, caller, id, true).await?;
    let mut patch = patch.clone();
    if let Some(n) = &patch.name {
        patch.name = Some(check_name(n, "project")?);
    }
    if let Some(d) = &patch.description {
        check_description(d)?;
    }
    st.store.update_project(id, &patch).await?;
    get(st, caller, id, false).await
}

/// Deletes a project and its stored files (owners and org admins only).
pub async fn delete(st: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    let p = get(st, caller, id, true).await?;
    if p.role < Role::Admin {
        return Err(AppError::Forbidden("only the project's owner or an org admin can delete it".into()));
    }
    st.store.delete_project(id).await?;
    // Rows first: a failed blob delete leaves orphaned files, never a project without files.
    if let Err(e) = st.blobs.delete_prefix(&format!("projects/{id}")).await {
        tracing::warn!(project = id, error = %e, "project deleted, its files were not");
    }
    st.store.audit(Some(caller.id()), "project.delete", Some(id), "{}", None).await?;
    Ok(())
}

/// A URL-safe slug: lower-case letters, digits and dashes.
fn check_slug(slug: &str) -> AppResult<String> {
    let s = slug.trim().to_lowercase();
    let ok = (2..=40).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        return Err(AppError::Validation(format!(
            "slug {slug:?}: use 2 to 40 lower-case letters, digits and dashes, e.g. \"fluids-lab\""
        )));
    }
    Ok(s)
}

/// Creates an organization owned by the caller.
pub async fn create_org(st: &AppState, caller: &Caller, name: &str, slug: &str) -> AppResult<Org> {
    let name = check_name(name, "organization")?;
    let slug = check_slug(slug)?;
    let o = st.store.create_org(caller.id(), &name, &slug).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            AppError::Conflict(format!("the slug {slug:?} is taken; choose another"))
        }
        e => e.into(),
    })?;
    st.store.audit(Some(caller.id()), "org.create", Some(&o.id), "{}", None).await?;
    Ok(o)
}

/// An organization the caller belongs to; `admin` requires admin or owner.
pub async fn org(st: &AppState, caller: &Caller, id: &str, admin: bool) -> AppResult<Org> {
    let o = st.store.org(caller.id(), id).await?.ok_or(AppError::NotFound("organization"))?;
    if admin && o.role < Role::Admin {
        return Err(AppError::Forbidden("only the organization's owner or admins can manage members".into()));
    }
    Ok(o)
}

/// Removes a member (not the owner).
pub async fn remove_member(st: &AppState, caller: &Caller, org_id: &str, user_id: &str) -> AppResult<()> {
    org(st, caller, org_id, true).await?;
    if !st.store.remove_member(org_id, user_id).await? {
        return Err(AppError::NotFound("member"));
    }
    Ok(())
}

/// Renames an org (owner or admins).
pub async fn rename_org(st: &AppState, caller: &Caller, id: &str, name: &str) -> AppResult<Org> {
    org(st, caller, id, true).await?;
    let name = check_name(name, "organization")?;
    st.store.rename_org(id, &name).await?;
    st.store.audit(Some(caller.id()), "org.rename", Some(id), &serde_json::json!({"name": name}).to_string(), None).await?;
    org(st, caller, id, false).await
}

/// Deletes an org with its projects, their files and the memberships (the owner only, who
/// confirms by typing the org's name; refused while any of its jobs is queued or running).
/// Usage records stay, for billing, without the org.
pub async fn delete_org(st: &AppState, caller: &Caller, id: &str, confirm: &str) -> AppResult<()> {
    let o = org(st, caller, id, false).await?;
    if o.role != Role::Owner {
        return Err(AppError::Forbidden("only the organization's owner can delete it".into()));
    }
    if confirm.trim() != o.name {
        return Err(AppError::Validation(format!(
            "to delete the organization, confirm with its name exactly ({:?}); nothing was deleted",
            o.name
        )));
    }
    let active = st.store.org_active_jobs(id).await?;
    if active > 0 {
        return Err(AppError::Conflict(format!(
            "{active} of the organization's jobs are queued or running; cancel them or let them end, then delete it"
        )));
    }
    let projects = st.store.org_project_ids(id).await?;
    st.store.delete_org(id).await?;
    for p in projects {
        if let Err(e) = st.blobs.delete_prefix(&format!("projects/{p}")).await {
            tracing::warn!(project = p, error = %e, "org deleted, a project's files were not");
        }
    }
    st.store.audit(Some(caller.id()), "org.delete", Some(id), &serde_json::json!({"name": o.name}).to_string(), None).await?;
    Ok(())
}
