/** Every `qkdnet` subcommand, in the order `--help` lists them. Each module owns one command. */
import type { Command } from 'commander';
import { register as keyrate } from './keyrate.ts';
import { register as link } from './link.ts';
import { register as reconcile } from './reconcile.ts';
import { register as pki } from './pki.ts';
import { register as kme } from './kme.ts';
import { register as simulate } from './simulate.ts';
import { register as detect } from './detect.ts';
import { register as ipsec } from './ipsec.ts';
import { register as up } from './up.ts';
import { register as validate } from './validate.ts';
import { register as netem } from './netem.ts';
import { register as ppPeer } from './pp-peer.ts';
import { register as site } from './site.ts';

export const COMMANDS: readonly ((program: Command) => void)[] = [
  keyrate,
  link,
  reconcile,
  pki,
  kme,
  simulate,
  detect,
  ipsec,
  up,
  validate,
  netem,
  ppPeer,
  site,
];
