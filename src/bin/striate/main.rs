//! The `striate` command.

fn main() {
    for (name, _) in striate::zoo::MODELS {
        let spec = striate::zoo::by_name(name, None, None).unwrap();
        let m = spec.build::<f32>(0).unwrap();
        println!("{}", m.summary());
    }
}
