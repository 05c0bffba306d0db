/**
 * The shape of a `SystemDescription` given as a JavaScript object (`boot(description)`), checked before any rule
 * reads it: a description parsed from a `.system` file always has this shape (sdf/parse.ts makes it), one
 * written by hand in JavaScript may not, and the rules (sdf/rules.ts) and the planner read fields as their types
 * say. So every field must have its declared type, every array must be an array, and no object may carry a
 * property the description does not define (a misspelt `progam` is an error, not an absent program). The values
 * themselves (ranges, names that must exist, Microkit's limits) are the rules' job.
 *
 * Messages name the path, as `protectionDomains[0].maps[1].vaddr: expected a number, got string`.
 */

type Field =
  | "string"
  | "number"
  | "boolean"
  /** SourceLocation: any object (parse.ts makes it; the rules only print it). */
  | "location"
  | { readonly oneOf: readonly string[] }
  | { readonly array: Shape | "location" }
  | { readonly object: Shape };

/** Each property: its type, and whether it must be present. */
type Shape = { readonly [property: string]: readonly [Field, boolean] };

const optional = <F extends Field>(field: F): readonly [F, false] => [field, false];
const required = <F extends Field>(field: F): readonly [F, true] => [field, true];
const location = optional("location");

const map: Shape = {
  mr: required("string"),
  vaddr: required("number"),
  perms: optional("string"),
  cached: optional("boolean"),
  setvarVaddr: optional("string"),
  setvarSize: optional("string"),
  setvarPrefillSize: optional("string"),
  location,
};

const pd: { [property: string]: readonly [Field, boolean] } = {
  name: required("string"),
  priority: optional("number"),
  program: required("string"),
  passive: optional("boolean"),
  budget: optional("number"),
  period: optional("number"),
  stackSize: optional("number"),
  cpu: optional("number"),
  fpu: optional("boolean"),
  smc: optional("boolean"),
  domain: optional("string"),
  id: optional("number"),
  setvarId: optional("string"),
  programForSymbols: optional("string"),
  maps: optional({ array: map }),
  irqs: optional({
    array: {
      kind: optional({ oneOf: ["conventional", "ioapic", "msi"] }),
      irq: optional("number"),
      ioapic: optional("number"),
      pin: optional("number"),
      pciDevice: optional("string"),
      id: required("number"),
      trigger: optional({ oneOf: ["edge", "level"] }),
      setvarId: optional("string"),
      location,
    },
  }),
  setvars: optional({ array: { symbol: required("string"), regionPaddr: optional("string"), location } }),
  virtualMachine: optional({
    object: { name: required("string"), vcpus: required({ array: { id: required("number"), location } }), maps: required({ array: map }), location },
  }),
  ioports: optional({ array: { id: required("number"), addr: required("number"), size: required("number"), location } }),
  capMaps: optional({ array: { type: required({ oneOf: ["Tcb", "SchedContext", "VSpace"] }), slot: required("number"), pd: required("string"), location } }),
  location,
};
pd["children"] = optional({ array: pd });

const end: Shape = { pd: required("string"), id: required("number"), pp: optional("boolean"), notify: optional("boolean"), setvarId: optional("string"), location };

const system: Shape = {
  file: optional("string"),
  protectionDomains: required({ array: pd }),
  channels: required({ array: { ends: required({ array: end }), location } }),
  memoryRegions: optional({
    array: { name: required("string"), size: required("number"), pageSize: optional("number"), physAddr: optional("number"), prefillPath: optional("string"), location },
  }),
  domainSchedule: optional({ array: { name: required("string"), length: required("number"), unit: optional({ oneOf: ["us", "ticks"] }), location } }),
  domains: optional({ array: { name: required("string"), id: optional("number"), location } }),
  ioAddressSpaces: optional({
    array: {
      name: required("string"),
      device: required("string"),
      maps: required({ array: { mr: required("string"), iovaddr: required("number"), perms: required("string"), location } }),
      location,
    },
  }),
  unsupported: optional({ array: "location" }),
  location,
};

/** At most this many problems are reported: a description that is wrong everywhere says so in a few lines. */
const MAX_PROBLEMS = 20;

/** What is wrong with the shape of `value` as a SystemDescription; empty if nothing is. */
export function descriptionShapeProblems(value: unknown): string[] {
  const check: Check = { problems: [], within: new Set() };
  checkObject(value, system, "the description", check);
  return check.problems;
}

/**
 * The problems found so far (at most MAX_PROBLEMS: past that nothing more is looked at), and the objects the
 * check is inside of: an object that contains itself (a PD among its own children) is reported, not followed.
 * The same object in two places that do not contain each other (one map shared by two PDs) is fine.
 */
interface Check {
  readonly problems: string[];
  readonly within: Set<object>;
}

function report(check: Check, problem: string): void {
  if (check.problems.length < MAX_PROBLEMS) check.problems.push(problem);
}

function kindOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

function checkObject(value: unknown, shape: Shape, path: string, check: Check): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    report(check, `${path}: expected an object, got ${kindOf(value)}`);
    return;
  }
  if (check.within.has(value)) {
    report(check, `${path}: contains itself (the object is one of its own ancestors)`);
    return;
  }
  check.within.add(value);
  const record = value as Record<string, unknown>;
  const prefix = path === "the description" ? "" : `${path}.`;
  for (const key of Object.keys(record)) {
    if (check.problems.length >= MAX_PROBLEMS) break;
    if (!Object.hasOwn(shape, key)) report(check, `${prefix}${key}: not a property of ${path === "the description" ? "a system description" : path}`);
  }
  for (const [key, [field, isRequired]] of Object.entries(shape)) {
    if (check.problems.length >= MAX_PROBLEMS) break;
    const v = record[key];
    if (v === undefined) {
      if (isRequired) report(check, `${prefix}${key}: required, missing`);
      continue;
    }
    checkField(v, field, `${prefix}${key}`, check);
  }
  check.within.delete(value);
}

function checkField(value: unknown, field: Field, path: string, check: Check): void {
  if (field === "string" || field === "number" || field === "boolean") {
    if (typeof value !== field) report(check, `${path}: expected a ${field}, got ${kindOf(value)}`);
  } else if (field === "location") {
    if (typeof value !== "object" || value === null) report(check, `${path}: expected a location object, got ${kindOf(value)}`);
  } else if ("oneOf" in field) {
    if (typeof value !== "string" || !field.oneOf.includes(value)) report(check, `${path}: expected one of ${field.oneOf.map((s) => `'${s}'`).join(", ")}, got ${typeof value === "string" ? `'${value}'` : kindOf(value)}`);
  } else if ("array" in field) {
    if (!Array.isArray(value)) {
      report(check, `${path}: expected an array, got ${kindOf(value)}`);
      return;
    }
    const element = field.array;
    for (let i = 0; i < value.length && check.problems.length < MAX_PROBLEMS; i++) {
      const item: unknown = value[i];
      if (element === "location") checkField(item, "location", `${path}[${i}]`, check);
      else checkObject(item, element, `${path}[${i}]`, check);
    }
  } else checkObject(value, field.object, path, check);
}
