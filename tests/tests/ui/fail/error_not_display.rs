use typecall::tool;

#[derive(Debug, serde::Serialize)]
pub enum LookupError {
    NotFound,
}

/// Find a user.
#[tool]
fn find_user(name: String) -> Result<String, LookupError> {
    if name.is_empty() {
        Err(LookupError::NotFound)
    } else {
        Ok(name)
    }
}

fn main() {}
