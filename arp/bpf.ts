// Classic BPF programs attached to our packet sockets, so the kernel drops what we would only ignore.
// An IPv6 packet socket otherwise wakes us for every IPv6 frame on the link; this one passes only
// ICMPv6 Neighbor Solicitations without extension headers (the only ones we answer, see ndp-codec.ts).

const BPF_LD_H_ABS = 0x28;
const BPF_LD_B_ABS = 0x30;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;

interface Instruction {
  readonly code: number;
  readonly jumpTrue: number;
  readonly jumpFalse: number;
  readonly k: number;
}

/** struct sock_filter, host byte order (little-endian on every machine we build for). */
export function encodeBpfProgram(program: readonly Instruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, index) => {
    bytes.writeUInt16LE(instruction.code, index * 8);
    bytes[index * 8 + 2] = instruction.jumpTrue;
    bytes[index * 8 + 3] = instruction.jumpFalse;
    bytes.writeUInt32LE(instruction.k >>> 0, index * 8 + 4);
  });
  return bytes;
}

export function neighborSolicitationFilter(): Buffer {
  return encodeBpfProgram([
    { code: BPF_LD_H_ABS, jumpTrue: 0, jumpFalse: 0, k: 12 }, // ethertype
    { code: BPF_JEQ_K, jumpTrue: 0, jumpFalse: 5, k: 0x86dd },
    { code: BPF_LD_B_ABS, jumpTrue: 0, jumpFalse: 0, k: 14 + 6 }, // IPv6 next header
    { code: BPF_JEQ_K, jumpTrue: 0, jumpFalse: 3, k: 58 },
    { code: BPF_LD_B_ABS, jumpTrue: 0, jumpFalse: 0, k: 14 + 40 }, // ICMPv6 type
    { code: BPF_JEQ_K, jumpTrue: 0, jumpFalse: 1, k: 135 },
    { code: BPF_RET_K, jumpTrue: 0, jumpFalse: 0, k: 0xffff },
    { code: BPF_RET_K, jumpTrue: 0, jumpFalse: 0, k: 0 },
  ]);
}
