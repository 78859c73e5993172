use typecall::tools;

struct Counter {
    n: u32,
}

#[tools]
impl Counter {
    /// Adds one.
    pub fn bump(&mut self) -> u32 {
        self.n += 1;
        self.n
    }
}

fn main() {}
