import type { minify as Minify } from 'html-minifier-terser';

/** Loaded on first use: with terser and clean-css it takes ~90 ms to import, which processes that never render (the CLI's status, say) need not pay. */
let minifier: Promise<typeof Minify> | undefined;

/**
 * Email HTML without the weight it does not need: MJML's output is a quarter whitespace, and its
 * styles are written long. html-minifier-terser parses the HTML (all outside text in it is already
 * escaped, so nothing in an article can look like markup to it), collapses whitespace between and
 * inside elements the way browsers would show it anyway, drops ordinary comments and shortens CSS.
 * Outlook's conditional comments (`<!--[if mso]>`) are kept as they are: Outlook needs them, and
 * the minifier leaves conditional comments alone. Attribute quotes are kept: some webmail clients
 * mishandle unquoted values. (MJML 5's own `minify` keeps spaces between tags and needs cssnano,
 * which it does not install; this saves more.)
 */
export async function minifyEmailHtml(html: string): Promise<string> {
  minifier ??= import('html-minifier-terser').then((module) => module.minify);
  const minify = await minifier;
  return minify(html, {
    collapseWhitespace: true,
    removeComments: true,
    minifyCSS: true,
    removeEmptyAttributes: true,
    removeAttributeQuotes: false,
    keepClosingSlash: false,
    decodeEntities: false,
  });
}
