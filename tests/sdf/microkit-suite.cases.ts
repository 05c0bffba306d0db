/**
 * seL4 Microkit's own tool test suite (`tool/microkit/tests/test.rs`), one row per `#[test]`: the fixture, the
 * kernel configuration it runs under, and what Microkit's `check_error` expects (a prefix of its error string,
 * as `starts_with` there) or `ok` for `check_success`. See tests/fixtures/sdf/microkit-suite/README.md for where
 * the rows and fixtures come from.
 */

import type { KernelConfigOverrides } from "../../src/sdf/index.ts";

export interface SuiteCase {
  /** `module::test_name` in test.rs. */
  readonly name: string;
  readonly fixture: string;
  /** `DEFAULT_AARCH64_KERNEL_CONFIG` or `DEFAULT_X86_64_KERNEL_CONFIG`, plus the fields a case changes. */
  readonly config: "aarch64" | "x86_64";
  readonly overrides?: KernelConfigOverrides;
  /** Microkit's error (a prefix, as test.rs checks it), or "ok". */
  readonly expected: string;
}

const missing = (attr: string, element: string): string => `Error: Missing required attribute '${attr}' on element '${element}'`;

const A = "aarch64";
const X = "x86_64";

export const suite: readonly SuiteCase[] = [
  // ---- mod memory_region
  { name: "memory_region::test_malformed_size", fixture: "mr_malformed_size.system", config: A, expected: "Error: failed to parse integer '0x200_000sd' on element 'memory_region': invalid digit found in string" },
  { name: "memory_region::test_unsupported_page_size", fixture: "mr_unsupported_page_size.system", config: A, expected: "Error: page size 0x200001 not supported on element 'memory_region'" },
  { name: "memory_region::test_size_not_multiple_of_page_size", fixture: "mr_size_not_multiple_of_page_size.system", config: A, expected: "Error: size is not a multiple of the page size on element 'memory_region'" },
  { name: "memory_region::test_addr_not_aligned_to_page_size", fixture: "mr_addr_not_aligned_to_page_size.system", config: A, expected: "Error: phys_addr is not aligned to the page size on element 'memory_region'" },
  { name: "memory_region::test_missing_size", fixture: "mr_missing_size.system", config: A, expected: "Error: size must be specified if memory region is not prefilled on element 'memory_region'" },
  { name: "memory_region::test_missing_name", fixture: "mr_missing_name.system", config: A, expected: missing("name", "memory_region") },
  { name: "memory_region::test_invalid_attrs", fixture: "mr_invalid_attrs.system", config: A, expected: "Error: invalid attribute 'page_count' on element 'memory_region': " },
  { name: "memory_region::test_overlapping_phys_addr", fixture: "mr_overlapping_phys_addr.system", config: A, expected: "Error: memory region 'mr2' physical address range [0x9001000..0x9002000) overlaps with another memory region 'mr1' [0x9000000..0x9002000) @ " },
  { name: "memory_region::test_mr_prefill_empty_file", fixture: "mr_prefill_empty_file.system", config: A, expected: "Error: prefill file 'empty.bin' is empty on element 'memory_region'" },
  { name: "memory_region::test_mr_prefill_does_not_exists", fixture: "mr_prefill_does_not_exists.system", config: A, expected: "Error: unable to find prefill file: 'abcxyz.bin' on element 'memory_region'" },
  { name: "memory_region::test_mr_prefill_size_without_prefill", fixture: "mr_prefill_size_without_prefill.system", config: A, expected: "Error: 'setvar_prefill_size' used for MR without a `prefill_path` @" },
  { name: "memory_region::test_mr_prefill_no_size_valid", fixture: "mr_prefill_no_size_valid.system", config: A, expected: "ok" },
  { name: "memory_region::test_mr_prefill_page_sized_valid", fixture: "mr_prefill_page_sized_valid.system", config: A, expected: "ok" },
  { name: "memory_region::test_mr_prefill_sized_valid", fixture: "mr_prefill_sized_valid.system", config: A, expected: "ok" },
  { name: "memory_region::test_mr_prefill_bootinfo_valid", fixture: "mr_prefill_bootinfo_valid.system", config: X, expected: "ok" },
  { name: "memory_region::test_mr_prefill_bootinfo_type_invalid", fixture: "mr_prefill_bootinfo_type_invalid.system", config: X, expected: "Error: BootInfoMap type: 'x86_invalid_bootinfo' is not supported on element 'memory_region'" },
  { name: "memory_region::test_mr_prefill_path_bootinfo_both_specified", fixture: "mr_prefill_path_bootinfo_both_specified.system", config: X, expected: "Error: prefill_path and prefill_bootinfo cannot be both specified on element 'memory_region'" },

  // ---- mod protection_domain
  { name: "protection_domain::test_missing_name", fixture: "pd_missing_name.system", config: A, expected: missing("name", "protection_domain") },
  { name: "protection_domain::test_missing_program_image", fixture: "pd_missing_program_image.system", config: A, expected: "Error: missing 'program_image' element on protection_domain: " },
  { name: "protection_domain::test_missing_path", fixture: "pd_missing_path.system", config: A, expected: missing("path", "program_image") },
  { name: "protection_domain::test_missing_mr", fixture: "pd_missing_mr.system", config: A, expected: missing("mr", "map") },
  { name: "protection_domain::test_missing_vaddr", fixture: "pd_missing_vaddr.system", config: A, expected: missing("vaddr", "map") },
  { name: "protection_domain::test_missing_irq_arm", fixture: "pd_missing_irq.system", config: A, expected: missing("irq", "irq") },
  { name: "protection_domain::test_missing_id", fixture: "pd_missing_id.system", config: A, expected: missing("id", "irq") },
  { name: "protection_domain::test_missing_symbol", fixture: "pd_missing_symbol.system", config: A, expected: missing("symbol", "setvar") },
  { name: "protection_domain::test_missing_region_paddr", fixture: "pd_missing_region_paddr.system", config: A, expected: missing("region_paddr", "setvar") },
  { name: "protection_domain::test_duplicate_setvar", fixture: "pd_duplicate_setvar.system", config: A, expected: "Error: setvar on symbol 'test' already exists on element 'setvar': " },
  { name: "protection_domain::test_setvar_paddr_with_paddr", fixture: "pd_setvar_with_paddr.system", config: X, expected: "ok" },
  { name: "protection_domain::test_setvar_paddr_no_paddr", fixture: "pd_setvar_no_paddr.system", config: X, expected: "Error: setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86-64 @" },
  { name: "protection_domain::test_duplicate_program_image", fixture: "pd_duplicate_program_image.system", config: A, expected: "Error: program_image must only be specified once on element 'protection_domain': " },
  { name: "protection_domain::test_invalid_attrs", fixture: "pd_invalid_attrs.system", config: A, expected: "Error: invalid attribute 'foo' on element 'protection_domain': " },
  { name: "protection_domain::test_program_image_invalid_attrs", fixture: "pd_program_image_invalid_attrs.system", config: A, expected: "Error: invalid attribute 'foo' on element 'program_image': " },
  { name: "protection_domain::test_budget_gt_period", fixture: "pd_budget_gt_period.system", config: A, expected: "Error: budget (1000) must be less than, or equal to, period (100) on element 'protection_domain':" },
  { name: "protection_domain::test_invalid_priority", fixture: "pd_invalid_priority.system", config: A, expected: "Error: priority must be between 0 and 254 on element 'protection_domain':" },
  { name: "protection_domain::test_irq_greater_than_max", fixture: "irq_id_greater_than_max.system", config: A, expected: "Error: id must be < 62 on element 'irq'" },
  { name: "protection_domain::test_irq_less_than_0", fixture: "irq_id_less_than_0.system", config: A, expected: "Error: id must be >= 0 on element 'irq'" },
  { name: "protection_domain::test_write_only_mr", fixture: "pd_write_only_mr.system", config: A, expected: "Error: perms must not be 'w', write-only mappings are not allowed on element 'map':" },
  { name: "protection_domain::test_irq_invalid_trigger", fixture: "irq_invalid_trigger.system", config: A, expected: "Error: trigger must be either 'level' or 'edge' on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_on_arm", fixture: "irq_ioapic_on_arm.system", config: A, expected: "Error: x86 I/O APIC IRQ isn't supported on ARM and RISC-V on element 'irq'" },
  { name: "protection_domain::test_irq_msi_on_arm", fixture: "irq_msi_on_arm.system", config: A, expected: "Error: x86 MSI IRQ isn't supported on ARM and RISC-V on element 'irq'" },
  { name: "protection_domain::test_irq_arm_on_x86", fixture: "irq_arm_on_x86.system", config: X, expected: "Error: ARM and RISC-V IRQs are not supported on x86 on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_less_than_0", fixture: "irq_ioapic_less_than_0.system", config: X, expected: "Error: ioapic must be >= 0 on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_pin_less_than_0", fixture: "irq_ioapic_pin_less_than_0.system", config: X, expected: "Error: pin must be >= 0 on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_invalid_trigger", fixture: "irq_ioapic_invalid_trigger.system", config: X, expected: "Error: trigger must be either 'level' or 'edge' on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_invalid_level", fixture: "irq_ioapic_invalid_level.system", config: X, expected: "Error: invalid attribute 'level' on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_invalid_polarity", fixture: "irq_ioapic_invalid_polarity.system", config: X, expected: "Error: polarity must be either 'low' or 'high' on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_vector_less_than_0", fixture: "irq_ioapic_vector_less_than_0.system", config: X, expected: "Error: vector must be within [0..107] on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_vector_greater_than_107", fixture: "irq_ioapic_vector_greater_than_107.system", config: X, expected: "Error: vector must be within [0..107] on element 'irq'" },
  { name: "protection_domain::test_irq_ioapic_duplicate_pin", fixture: "irq_ioapic_duplicate_pin.system", config: X, expected: "Error: duplicate I/O APIC pin: 2 (ioapic 0) in protection domain: 'test1' @ " },
  { name: "protection_domain::test_irq_msi_pci_bus_less_than_0", fixture: "irq_msi_pci_bus_less_than_0.system", config: X, expected: "Error: PCI bus must be within [0..255] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_pci_dev_less_than_0", fixture: "irq_msi_pci_dev_less_than_0.system", config: X, expected: "Error: PCI device must be within [0..31] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_pci_func_less_than_0", fixture: "irq_msi_pci_func_less_than_0.system", config: X, expected: "Error: PCI function must be within [0..7] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_pci_bus_greater_than_255", fixture: "irq_msi_pci_bus_greater_than_255.system", config: X, expected: "Error: PCI bus must be within [0..255] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_pci_dev_greater_than_31", fixture: "irq_msi_pci_dev_greater_than_31.system", config: X, expected: "Error: PCI device must be within [0..31] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_pci_func_greater_than_7", fixture: "irq_msi_pci_func_greater_than_7.system", config: X, expected: "Error: PCI function must be within [0..7] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_handle_less_than_0", fixture: "irq_msi_handle_less_than_0.system", config: X, expected: "Error: handle must be >= 0 on element 'irq'" },
  { name: "protection_domain::test_irq_msi_vector_less_than_0", fixture: "irq_msi_vector_less_than_0.system", config: X, expected: "Error: vector must be within [0..107] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_vector_greater_than_107", fixture: "irq_msi_vector_greater_than_107.system", config: X, expected: "Error: vector must be within [0..107] on element 'irq'" },
  { name: "protection_domain::test_irq_msi_msi_pci_invalid", fixture: "irq_msi_pci_invalid.system", config: X, expected: "Error: expected PCI address in bus:device.function form on element 'irq'" },
  { name: "protection_domain::test_irq_msi_msi_pci_valid", fixture: "irq_msi_pci_valid.system", config: X, expected: "ok" },
  { name: "protection_domain::test_irq_msi_pci_duplicate_device", fixture: "irq_msi_pci_duplicate_device.system", config: X, expected: "Error: duplicate MSI PCI device: 01:02.3 in protection domain: 'test1' @ " },
  { name: "protection_domain::test_parent_has_id", fixture: "pd_parent_has_id.system", config: A, expected: "Error: invalid attribute 'id' on element 'protection_domain': " },
  { name: "protection_domain::test_child_missing_id", fixture: "pd_child_missing_id.system", config: A, expected: missing("id", "protection_domain") },
  { name: "protection_domain::test_duplicate_child_id", fixture: "pd_duplicate_child_id.system", config: A, expected: "Error: duplicate id: 0 in protection domain: 'parent' @" },
  { name: "protection_domain::test_duplicate_child_id_vcpu", fixture: "pd_duplicate_child_id_vcpu.system", config: A, expected: "Error: duplicate id: 0 clashes with virtual machine vcpu id in protection domain: 'parent' @" },
  { name: "protection_domain::test_small_stack_size", fixture: "pd_small_stack_size.system", config: A, expected: "Error: stack size must be between" },
  { name: "protection_domain::test_unaligned_stack_size", fixture: "pd_unaligned_stack_size.system", config: A, expected: "Error: stack size must be aligned to the smallest page size" },
  { name: "protection_domain::test_overlapping_maps", fixture: "pd_overlapping_maps.system", config: A, expected: "Error: map for 'mr2' has virtual address range [0x1000000..0x1001000) which overlaps with map for 'mr1' [0x1000000..0x1001000) in protection domain 'hello' @" },
  { name: "protection_domain::test_overlapping_mixed_page_size_maps", fixture: "pd_overlapping_mixed_page_sizes.system", config: A, expected: "Error: map for 'small_region' has virtual address range [0x201000..0x202000) which overlaps with map for 'large_region' [0x200000..0x400000) in protection domain 'test' @" },
  { name: "protection_domain::test_overlapping_x86_io_ports_1", fixture: "pd_overlapping_x86_io_ports_1.system", config: X, expected: "Error: I/O port id: 1, half-open range: [0x3ff, 0x407) in protection domain: 'test1' @ pd_overlapping_x86_io_ports_1.system:8:5 overlaps with I/O port id: 0, half-open range: [0x3f8, 0x400) in protection domain: 'test1' @ pd_overlapping_x86_io_ports_1.system:8:5" },
  { name: "protection_domain::test_overlapping_x86_io_ports_2", fixture: "pd_overlapping_x86_io_ports_2.system", config: X, expected: "Error: I/O port id: 0, half-open range: [0x3ff, 0x407) in protection domain: 'test2' @ pd_overlapping_x86_io_ports_2.system:13:5 overlaps with I/O port id: 0, half-open range: [0x3f8, 0x400) in protection domain: 'test1' @ pd_overlapping_x86_io_ports_2.system:8:5" },
  { name: "protection_domain::test_invalid_x86_io_port_size", fixture: "pd_invalid_x86_io_port_size.system", config: X, expected: "Error: size must be > 0 on element 'ioport':" },
  { name: "protection_domain::test_invalid_cpu", fixture: "pd_invalid_cpu.system", config: A, expected: "Error: cpu core must be less than 1, got 10 on element 'protection_domain':" },

  // ---- mod iommu
  { name: "iommu::test_iommu_missing_from_config", fixture: "iommu_missing_from_config.system", config: X, overrides: { iommu: false }, expected: "Error: io address space requires seL4 to be built with IOMMU support: " },
  { name: "iommu::test_iommu_missing_from_aarch64_config", fixture: "iommu_missing_from_config.system", config: A, overrides: { iommu: false }, expected: "Error: io address space requires seL4 to be built with IOMMU support: " },
  { name: "iommu::test_iommu_missing_from_riscv64_config", fixture: "iommu_missing_from_config.system", config: A, overrides: { arch: "riscv64", iommu: false }, expected: "Error: io address space requires seL4 to be built with IOMMU support: " },
  { name: "iommu::test_iommu_unsupported_on_aarch64", fixture: "iommu_missing_from_config.system", config: A, overrides: { iommu: true }, expected: "Error: failed to parse device peripheral_id '0:3.0': IOMMU device identifiers are not supported on AArch64 on element 'io_address_space':" },
  { name: "iommu::test_iommu_unsupported_on_riscv64", fixture: "iommu_missing_from_config.system", config: A, overrides: { arch: "riscv64", iommu: true }, expected: "Error: failed to parse device peripheral_id '0:3.0': IOMMU device identifiers are not supported on RISC-V (64-bit) on element 'io_address_space':" },
  { name: "iommu::test_out_of_bound", fixture: "iommu_out_of_bound.system", config: X, expected: "Error: iovaddr (0x8000000000) must be less than 0x8000000000 on element 'iomap': iommu_out_of_bound.system:10:9" },
  { name: "iommu::test_range_out_of_bound", fixture: "iommu_range_out_of_bound.system", config: X, expected: "Error: iomap for 'region' has io address range [0x7fff800000..0x8000200000) which exceeds valid address space [0x0..0x8000000000) @" },
  { name: "iommu::test_address_overflow", fixture: "iommu_address_overflow.system", config: X, expected: "Error: iomap for 'region' has address range that overflows @" },
  { name: "iommu::test_valid_perms_and_bound", fixture: "iommu_valid_perms_and_bound.system", config: X, expected: "ok" },
  { name: "iommu::test_perms_read_write", fixture: "iommu_perms_read_write.system", config: X, expected: "ok" },
  { name: "iommu::test_perms_write_only", fixture: "iommu_perms_write_only.system", config: X, expected: "ok" },
  { name: "iommu::test_perms_execute_invalid", fixture: "iommu_perms_execute_invalid.system", config: X, expected: "Error: perms for io mapped memory must only be a combination of 'r' and 'w' on element 'iomap':" },
  { name: "iommu::test_overlap_different_devices", fixture: "iommu_overlap_different_devices.system", config: X, expected: "ok" },
  { name: "iommu::test_overlap_same_device", fixture: "iommu_overlap_same_device.system", config: X, expected: "Error: map for 'region_b' has io address range [0x0..0x1000) which overlaps with map for 'region_a' [0x0..0x1000) in PCI device 00:03.0 @ iommu_overlap_same_device.system:12:9" },
  { name: "iommu::test_same_mr_different_devices", fixture: "iommu_same_mr_different_devices.system", config: X, expected: "ok" },
  { name: "iommu::test_overlap_mixed_page_sizes", fixture: "iommu_overlap_mixed_page_sizes.system", config: X, expected: "Error: currently seL4 does not have large page support for the IOMMU" },
  { name: "iommu::test_pci_invalid", fixture: "iommu_pci_invalid.system", config: X, expected: "Error: failed to parse device peripheral_id '0:g.0': failed to parse PCI device on element 'io_address_space': iommu_pci_invalid.system:9:5" },
  { name: "iommu::test_pci_negative_bus", fixture: "iommu_pci_negative_bus.system", config: X, expected: "Error: failed to parse device peripheral_id '-1:0.0': PCI bus must be within [0..255] on element 'io_address_space':" },
  { name: "iommu::test_pci_negative_device", fixture: "iommu_pci_negative_device.system", config: X, expected: "Error: failed to parse device peripheral_id '0:-1.0': PCI device must be within [0..31] on element 'io_address_space':" },
  { name: "iommu::test_pci_negative_function", fixture: "iommu_pci_negative_function.system", config: X, expected: "Error: failed to parse device peripheral_id '0:0.-1': PCI function must be within [0..7] on element 'io_address_space':" },
  { name: "iommu::test_duplicate_device", fixture: "iommu_duplicate_device.system", config: X, expected: "Error: duplicate device name 'test_device' on element 'io_address_space':" },
  { name: "iommu::test_duplicate_device_identifier", fixture: "iommu_duplicate_device_identifier.system", config: X, expected: "Error: duplicate device peripheral_id 'PCI device 00:03.0' on element 'io_address_space':" },

  // ---- mod virtual_machine
  { name: "virtual_machine::test_vm_not_child", fixture: "vm_not_child.system", config: A, expected: "Error: virtual machine must be a child of a protection domain" },
  { name: "virtual_machine::test_duplicate_name", fixture: "vm_duplicate_name.system", config: A, expected: "Error: duplicate virtual machine name 'guest'" },
  { name: "virtual_machine::test_missing_vcpu", fixture: "vm_missing_vcpu.system", config: A, expected: "Error: missing 'vcpu' element on virtual_machine: " },
  { name: "virtual_machine::test_missing_vcpu_id", fixture: "vm_missing_vcpu_id.system", config: A, expected: missing("id", "vcpu") },
  { name: "virtual_machine::test_invalid_vcpu_id", fixture: "vm_invalid_vcpu_id.system", config: A, expected: "Error: id must be < 62 on element 'vcpu'" },
  { name: "virtual_machine::test_overlapping_maps", fixture: "vm_overlapping_maps.system", config: A, expected: "Error: map for 'mr2' has virtual address range [0x1000000..0x1001000) which overlaps with map for 'mr1' [0x1000000..0x1001000) in virtual machine 'guest' @" },
  { name: "virtual_machine::test_missing_mr", fixture: "vm_missing_mr.system", config: A, expected: "Error: invalid memory region name 'mr1' on 'map' @" },
  { name: "virtual_machine::test_x86_ppc_invalid_1", fixture: "vm_x86_ppc_invalid_1.system", config: X, expected: "Error: It is not possible to PPC to PD 'VMM' with a bound vCPU from PD 'some_service' on x86_64" },
  { name: "virtual_machine::test_x86_ppc_invalid_2", fixture: "vm_x86_ppc_invalid_2.system", config: X, expected: "Error: It is not possible to PPC to PD 'VMM' with a bound vCPU from PD 'some_service' on x86_64" },
  { name: "virtual_machine::test_x86_ppc_valid", fixture: "vm_x86_ppc_valid.system", config: X, expected: "ok" },
  { name: "virtual_machine::test_vm_x86_vm_with_child_invalid", fixture: "vm_x86_vm_with_child_invalid.system", config: X, expected: "Error: It is not possible for PD 'VMM' with a bound vCPU to have children on x86_64" },

  // ---- mod channel
  { name: "channel::test_missing_id", fixture: "ch_missing_id.system", config: A, expected: missing("id", "end") },
  { name: "channel::test_id_greater_than_max", fixture: "ch_id_greater_than_max.system", config: A, expected: "Error: id must be < 62 on element 'end'" },
  { name: "channel::test_id_less_than_0", fixture: "ch_id_less_than_0.system", config: A, expected: "Error: id must be >= 0 on element 'end'" },
  { name: "channel::test_id_not_a_number", fixture: "ch_id_not_a_number.system", config: A, expected: "Error: failed to parse integer 'abc' on element 'end': invalid digit found in string" },
  { name: "channel::test_invalid_attrs", fixture: "ch_invalid_attrs.system", config: A, expected: "Error: invalid attribute 'foo' on element 'channel': " },
  { name: "channel::test_channel_invalid_pd", fixture: "ch_invalid_pd.system", config: A, expected: "Error: invalid PD name 'invalidpd' on element 'end': " },
  { name: "channel::test_invalid_element", fixture: "ch_invalid_element.system", config: A, expected: "Error: invalid XML element 'ending': " },
  { name: "channel::test_not_enough_ends", fixture: "ch_not_enough_ends.system", config: A, expected: "Error: exactly two end elements must be specified on element 'channel': " },
  { name: "channel::test_too_many_ends", fixture: "ch_too_many_ends.system", config: A, expected: "Error: exactly two end elements must be specified on element 'channel': " },
  { name: "channel::test_end_invalid_pp", fixture: "ch_end_invalid_pp.system", config: A, expected: "Error: pp must be 'true' or 'false' on element 'end': " },
  { name: "channel::test_end_invalid_notify", fixture: "ch_end_invalid_notify.system", config: A, expected: "Error: notify must be 'true' or 'false' on element 'end': " },
  { name: "channel::test_bidirectional_ppc", fixture: "ch_bidirectional_ppc.system", config: A, expected: "Error: cannot ppc bidirectionally on element 'channel': " },
  { name: "channel::test_ppcall_priority", fixture: "ch_ppcall_priority.system", config: A, expected: "Error: PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd test1 (priority: 2) to pd test2 (priority: 1)" },

  // ---- mod domains
  { name: "domains::test_domain_smp", fixture: "domain_smp.system", config: A, overrides: { numCores: 4 }, expected: "Error: The domain scheduler is not supported in multicore builds of seL4" },
  { name: "domains::test_domain_too_many_domains", fixture: "domain_exceed_max_domains.system", config: A, expected: "Error: Number of domains exceeds 16 on element 'domains': domain_exceed_max_domains.system:8:5" },
  { name: "domains::test_domain_assign_pd_to_invalid_domain", fixture: "domain_assign_pd_to_invalid_domain.system", config: A, expected: "Error: domain 'domain_2' not declared in <domains>: on element 'protection_domain': domain_assign_pd_to_invalid_domain.system:16:5" },
  { name: "domains::test_domain_invalid_timeslice", fixture: "domain_invalid_timeslice.system", config: A, expected: "Error: The duration '1000 kilometres' must be in either 'ticks' or 'us' on element 'schedule_entry': domain_invalid_timeslice.system:12:13" },
  { name: "domains::test_domain_no_schedule", fixture: "domain_no_schedule.system", config: A, expected: "Error: Specifying a domain 'domain_1' without declaring a domain schedule is not allowed: on element 'protection_domain': domain_no_schedule.system:8:5" },
  { name: "domains::test_domain_pd_no_domain", fixture: "domain_no_pd_domain.system", config: A, expected: "Error: Missing required attribute 'domain' on element 'protection_domain': domain_no_pd_domain.system:15:5" },
  { name: "domains::test_domain_invalid_start_index", fixture: "domain_invalid_start_index.system", config: A, expected: "Error: failed to parse integer 'zzzz' on element 'domain_schedule': invalid digit found in string" },
  { name: "domains::test_domain_out_of_bounds_start_index", fixture: "domain_out_of_bounds_start_index.system", config: A, expected: "Error: schedule_start_index '1' is greater than the length of the schedule '1' on element 'domain_schedule': domain_out_of_bounds_start_index.system:11:9" },
  { name: "domains::test_domain_invalid_shift", fixture: "domain_invalid_shift.system", config: A, expected: "Error: failed to parse integer 'zzzz' on element 'domain_schedule': invalid digit found in string" },
  { name: "domains::test_domain_out_of_bounds_shift", fixture: "domain_out_of_bounds_shift.system", config: A, expected: "Error: schedule_index_shift '0' on top of the schedule length '1' would exceed than the configured KernelNumDomainSchedules 100 on element 'domain_schedule': domain_out_of_bounds_shift.system:11:9" },

  // ---- mod system
  { name: "system::test_duplicate_pd_names", fixture: "sys_duplicate_pd_name.system", config: A, expected: "Error: duplicate protection domain name 'test'." },
  { name: "system::test_duplicate_mr_names", fixture: "sys_duplicate_mr_name.system", config: A, expected: "Error: duplicate memory region name 'test'." },
  { name: "system::test_duplicate_irq_number", fixture: "sys_duplicate_irq_number.system", config: A, expected: "Error: duplicate irq: 112 in protection domain: 'test2' @ " },
  { name: "system::test_duplicate_irq_id", fixture: "sys_duplicate_irq_id.system", config: A, expected: "Error: duplicate channel id: 3 in protection domain: 'test1' @" },
  { name: "system::test_channel_duplicate_a_id", fixture: "sys_channel_duplicate_a_id.system", config: A, expected: "Error: duplicate channel id: 5 in protection domain: 'test1' @" },
  { name: "system::test_channel_duplicate_b_id", fixture: "sys_channel_duplicate_b_id.system", config: A, expected: "Error: duplicate channel id: 5 in protection domain: 'test2' @" },
  { name: "system::test_no_protection_domains", fixture: "sys_no_protection_domains.system", config: A, expected: "Error: at least one protection domain must be defined" },
  { name: "system::test_text_elements", fixture: "sys_text_elements.system", config: A, expected: "Error: unexpected text found in element 'system' @" },
  { name: "system::test_map_invalid_mr", fixture: "sys_map_invalid_mr.system", config: A, expected: "Error: invalid memory region name 'foos' on 'map' @ " },
  { name: "system::test_map_not_aligned", fixture: "sys_map_not_aligned.system", config: A, expected: "Error: invalid vaddr alignment on 'map' @ " },
  { name: "system::test_map_too_high", fixture: "sys_map_too_high.system", config: A, expected: "Error: vaddr (0x1000000000000000) must be less than 0xffffffc000 on element 'map'" },
  { name: "system::test_map_range_too_high", fixture: "sys_map_range_too_high.system", config: A, expected: "Error: map for 'foo' has virtual address range [0xe000000000..0x200e000000000) which exceeds valid address space" },
  { name: "system::test_too_many_pds", fixture: "sys_too_many_pds.system", config: A, expected: "Error: too many protection domains (64) defined. Maximum is 63." },
  { name: "system::test_fpu_flag_wrong_value", fixture: "wrong_fpu_flag_value.system", config: A, expected: "Error: fpu must be 'true' or 'false'" },
  { name: "system::test_cap_mappings_overlapping", fixture: "pd_cap_mappings_overlapping.system", config: A, expected: "Error: overlapping user caps in slot 3 of protection domain 'pd_b':\n  type VSpace from 'pd_a' at 'pd_cap_mappings_overlapping.system:23:13'\n  type VSpace from 'pd_a' at 'pd_cap_mappings_overlapping.system:25:13'" },
  { name: "system::test_cap_mappings_slot_invalid", fixture: "cap_mappings_slot_invalid.system", config: A, expected: "Error: The destination slot 0 has been reserved for Microkit CNode on element 'cap_sc'" },
  { name: "system::test_cap_mappings_invalid", fixture: "pd_cap_mappings_invalid.system", config: A, expected: "Cap type: 'gerbils' is not supported at 'pd_cap_mappings_invalid.system:16:13'" },
  { name: "system::test_cap_mappings_invalid_pd_ref", fixture: "pd_cap_mappings_invalid_pd_ref.system", config: A, expected: "Error: unknown PD name 'invalid': pd_cap_mappings_invalid_pd_ref.system:12:13" },
];
