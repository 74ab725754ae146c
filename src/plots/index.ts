/** Paper figures: plain-data figure specs, the theme, curves from predictions, headless SVG/PNG export. */
export * from './types';
export * from './theme';
export * from './curves';
export * from './figures';
export * from './export';
export * from './paperFigures';
