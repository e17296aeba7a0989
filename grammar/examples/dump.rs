fn main() {
    let path = std::env::args().nth(1).expect("path");
    let src = std::fs::read_to_string(path).expect("read");
    let file = vexil_grammar::parse(&src);
    println!("{:#?}", file.errors);
    for item in &file.items {
        println!("{:?}", item.name().map(|n| &n.name));
    }
    if std::env::args().nth(2).is_some() {
        println!("{:#?}", file.items);
    }
}
