import * as $ from "capnp-es";
export declare const _capnpFileId = 12953997302982423750n;
export declare class Person extends $.Struct {
  static readonly _capnp: {
    displayName: string;
    id: string;
    size: $.ObjectSize;
  };
  get name(): string;
  set name(value: string);
  get age(): number;
  set age(value: number);
  _adoptEmails(value: $.Orphan<$.List<string>>): void;
  _disownEmails(): $.Orphan<$.List<string>>;
  get emails(): $.List<string>;
  _hasEmails(): boolean;
  _initEmails(length: number): $.List<string>;
  set emails(value: $.List<string>);
  toString(): string;
}
