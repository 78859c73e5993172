use typecall::tools;

struct Shop;

trait Open {
    fn open(&self) -> bool;
}

#[tools]
impl Open for Shop {
    /// Opens.
    fn open(&self) -> bool {
        true
    }
}

fn main() {}
