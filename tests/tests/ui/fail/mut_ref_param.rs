use typecall::tool;

/// Appends to a list.
#[tool]
fn append(list: &mut Vec<String>, item: String) {
    list.push(item);
}

fn main() {}
