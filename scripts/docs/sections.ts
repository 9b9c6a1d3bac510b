/**
 * Every generated section of the docs, in the order they are written. To add one (the settings
 * table from the configuration schema, the routes from the OpenAPI document): a function that
 * returns its Markdown, its markers in the page, and its line here.
 */
import { emailWeightTable, performanceTable } from './bench-results.ts';
import type { GeneratedSection } from './generated.ts';

export const GENERATED_SECTIONS: readonly GeneratedSection[] = [performanceTable, emailWeightTable];
