@0xb3c5d7e9f1a2b4c6;

struct Person {
  name @0 :Text;
  age @1 :UInt32;
  emails @2 :List(Text);
}
