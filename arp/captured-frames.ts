// Frames captured with tcpdump -xx between two network namespaces (Linux 6.x kernel answering for
// addresses configured on its interface; iputils arping 20221126 and ndisc6 1.0.5 asking). The kernel's
// frames are the known-good references our encoders must reproduce byte for byte.
export const KERNEL_MAC = '02:00:00:77:00:01';
export const CLIENT_MAC = '02:00:00:77:00:02';

export const arpingRequest = Buffer.from(
  'ffffffffffff020000770002080600010800060400010200007700 02c0a84d02ffffffffffffc0a84d01'.replace(/ /g, ''), 'hex');

export const kernelArpReply = Buffer.from(
  '0200007700020200007700010806000108000604000202000077 0001c0a84d010200007700 02c0a84d02'.replace(/ /g, ''), 'hex');

/** ndisc6's solicitation for fd00:77::1 from fd00:77::2 (flow label 0x e1db4, which our encoder leaves 0). */
export const ndisc6Solicitation = Buffer.from(
  ('3333ff000001020000770002 86dd600e1db400203aff fd000077000000000000000000000002 ff0200000000000000000001ff000001' +
   '87007c3200000000 fd000077000000000000000000000001 0101020000770002').replace(/ /g, ''), 'hex');

/** The kernel's solicited advertisement answering it: S and O set, target link-layer option. */
export const kernelAdvertisement = Buffer.from(
  ('020000770002020000770001 86dd6000000000203aff fd000077000000000000000000000001 fd000077000000000000000000000002' +
   '88001ac060000000 fd000077000000000000000000000001 0201020000770001').replace(/ /g, ''), 'hex');
