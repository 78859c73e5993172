use typecall::tools;

pub struct Shop;

#[tools]
impl Shop {
    /// Look up an order.
    pub fn order(&self, id: u64) -> u64 {
        id
    }
    pub fn restock(&self, id: u64) -> u64 {
        id
    }
}

fn main() {}
