/** The short overview printed by `qkdnet` with no command and by `npm start` before the demo exists. */
export const OVERVIEW = `qkdnet — an open platform for quantum-secured networks

Start here:
  npm start                       the live demo network with its dashboard (qkdnet up scenarios/metro-demo.yaml)
  qkdnet keyrate --models         key-rate models and bounds, with their papers
  qkdnet <command> --help         what a command does, with examples`;
