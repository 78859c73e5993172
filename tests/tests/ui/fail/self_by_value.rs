use typecall::tools;

struct Shop;

#[tools]
impl Shop {
    /// Closes the shop.
    pub fn close(self, reason: String) -> String {
        reason
    }
}

fn main() {}
