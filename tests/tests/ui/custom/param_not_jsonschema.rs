use typecall::tool;

pub struct Opaque(u32);

/// Uses an opaque value.
#[tool]
fn use_it(value: Opaque) -> u32 {
    value.0
}

fn main() {}
