import type { Command } from 'commander';

// Placeholder: the subcommand is declared by the work that builds it.
export function register(_program: Command): void {}
