//! What a running MCP server offers (its tools, resources, templates and
//! prompts), shared by every session and changed while it runs through
//! [`McpCatalog`], which tells the clients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::catalog::{Prompt, Resource, ResourceTemplate};
use super::sessions::{ListChanged, Sessions};
use crate::tool::{Tool, Toolbox};

/// Resources, templates and prompts.
#[derive(Debug, Default, Clone)]
pub(super) struct Catalog {
    pub(super) resources: Vec<Resource>,
    pub(super) templates: Vec<ResourceTemplate>,
    pub(super) prompts: Vec<Prompt>,
}

impl Catalog {
    fn put_resource(&mut self, resource: Resource) {
        self.resources.retain(|r| r.uri != resource.uri);
        self.resources.push(resource);
    }
    fn put_template(&mut self, template: ResourceTemplate) {
        self.templates.retain(|t| t.template != template.template);
        self.templates.push(template);
    }
    fn put_prompt(&mut self, prompt: Prompt) {
        self.prompts.retain(|p| p.name != prompt.name);
        self.prompts.push(prompt);
    }
}

/// The current offer: each request reads a snapshot, a change swaps it.
#[derive(Debug, Default)]
pub(super) struct Offer {
    tools: RwLock<Arc<Toolbox>>,
    catalog: RwLock<Arc<Catalog>>,
    /// Whether it may change while served (an [`McpCatalog`] was taken): the
    /// server then says so (`listChanged`) and offers every kind.
    changeable: AtomicBool,
}

impl Offer {
    pub(super) fn new(tools: Arc<Toolbox>) -> Self {
        Self {
            tools: RwLock::new(tools),
            ..Self::default()
        }
    }
    pub(super) fn tools(&self) -> Arc<Toolbox> {
        Arc::clone(&self.tools.read().unwrap_or_else(PoisonError::into_inner))
    }
    pub(super) fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(PoisonError::into_inner))
    }
    pub(super) fn changeable(&self) -> bool {
        self.changeable.load(Ordering::Relaxed)
    }
    fn edit_tools<R>(&self, edit: impl FnOnce(&mut Toolbox) -> R) -> R {
        let mut tools = self.tools.write().unwrap_or_else(PoisonError::into_inner);
        edit(Arc::make_mut(&mut tools))
    }
    fn edit_catalog<R>(&self, edit: impl FnOnce(&mut Catalog) -> R) -> R {
        let mut catalog = self.catalog.write().unwrap_or_else(PoisonError::into_inner);
        edit(Arc::make_mut(&mut catalog))
    }
    pub(super) fn put_resource(&self, resource: Resource) {
        self.edit_catalog(|c| c.put_resource(resource));
    }
    pub(super) fn put_template(&self, template: ResourceTemplate) {
        self.edit_catalog(|c| c.put_template(template));
    }
    pub(super) fn put_prompt(&self, prompt: Prompt) {
        self.edit_catalog(|c| c.put_prompt(prompt));
    }
}

/// Changes what a running [`McpServer`](super::McpServer) offers, and tells
/// every connected client (`notifications/tools/list_changed`,
/// `…/resources/list_changed`, `…/prompts/list_changed`). From
/// [`McpServer::catalog`](super::McpServer::catalog), before serving; cheap to
/// clone. Each change returns how many clients were told.
///
/// ```
/// use typecall::mcp::{McpServer, Resource};
/// use typecall::tool::Toolbox;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let server = McpServer::new(Toolbox::new());
/// let catalog = server.catalog();
/// // … serve it, then, while it runs:
/// catalog.add_resource(Resource::text("docs://news", "news", "text/plain", "Hello")).await;
/// assert!(catalog.remove_resource("docs://news").await.is_some());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct McpCatalog {
    pub(super) offer: Arc<Offer>,
    pub(super) sessions: Arc<Sessions>,
}

impl McpCatalog {
    /// Adds a tool, replacing one of the same name; the number of clients
    /// told.
    ///
    /// # Errors
    /// As [`Toolbox::add`]: an invalid name, or a schema that could not be
    /// built (nothing changes then).
    pub async fn add_tool(&self, tool: impl Tool) -> crate::Result<usize> {
        let tool: Arc<dyn Tool> = Arc::new(tool);
        self.offer.edit_tools(|tools| {
            let mut next = tools.clone();
            next.remove(&tool.def().name);
            next.add_arc(tool)?;
            *tools = next;
            Ok::<_, crate::Error>(())
        })?;
        Ok(self.sessions.tell_all(ListChanged::Tools).await)
    }

    /// Removes the tool named `name`; the number of clients told, or `None`
    /// when there is no such tool (nobody is told).
    pub async fn remove_tool(&self, name: &str) -> Option<usize> {
        self.offer.edit_tools(|tools| tools.remove(name))?;
        Some(self.sessions.tell_all(ListChanged::Tools).await)
    }

    /// Adds a resource, replacing one at the same URI.
    pub async fn add_resource(&self, resource: impl Into<Resource>) -> usize {
        self.offer.put_resource(resource.into());
        self.sessions.tell_all(ListChanged::Resources).await
    }

    /// Removes the resource at `uri` (`None`: there is none).
    pub async fn remove_resource(&self, uri: &str) -> Option<usize> {
        self.offer
            .edit_catalog(|c| take(&mut c.resources, |r| r.uri == uri))?;
        Some(self.sessions.tell_all(ListChanged::Resources).await)
    }

    /// Adds a resource template, replacing one with the same template.
    pub async fn add_resource_template(&self, template: impl Into<ResourceTemplate>) -> usize {
        self.offer.put_template(template.into());
        self.sessions.tell_all(ListChanged::Resources).await
    }

    /// Removes the resource template `template` (`None`: there is none).
    pub async fn remove_resource_template(&self, template: &str) -> Option<usize> {
        self.offer
            .edit_catalog(|c| take(&mut c.templates, |t| t.template == template))?;
        Some(self.sessions.tell_all(ListChanged::Resources).await)
    }

    /// Adds a prompt, replacing one of the same name.
    pub async fn add_prompt(&self, prompt: impl Into<Prompt>) -> usize {
        self.offer.put_prompt(prompt.into());
        self.sessions.tell_all(ListChanged::Prompts).await
    }

    /// Removes the prompt named `name` (`None`: there is none).
    pub async fn remove_prompt(&self, name: &str) -> Option<usize> {
        self.offer
            .edit_catalog(|c| take(&mut c.prompts, |p| p.name == name))?;
        Some(self.sessions.tell_all(ListChanged::Prompts).await)
    }
}

impl Offer {
    /// A handle on this offer; from now on it is announced as changeable.
    pub(super) fn handle(self: &Arc<Self>, sessions: &Arc<Sessions>) -> McpCatalog {
        self.changeable.store(true, Ordering::Relaxed);
        McpCatalog {
            offer: Arc::clone(self),
            sessions: Arc::clone(sessions),
        }
    }
}

/// Removes the first item `is` picks; `Some(())` when there was one.
fn take<T>(items: &mut Vec<T>, is: impl Fn(&T) -> bool) -> Option<()> {
    let at = items.iter().position(is)?;
    items.remove(at);
    Some(())
}
