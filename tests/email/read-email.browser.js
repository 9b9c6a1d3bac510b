/* global document, window, getComputedStyle */
// Runs in the page: tests/email/rendering.browser.test.ts reads this file as text and evaluates it
// there (the tests are typed without the DOM's types). It says what an email shows, as the browser
// renders it: language and direction, width, headings, images, the preheader, and the lowest
// contrast between a text and what is behind it (WCAG relative luminance).
// eslint-disable-next-line @typescript-eslint/no-unused-expressions -- an expression, evaluated in the page
() => {
  const luminance = (color) => {
    const [r = 0, g = 0, b = 0] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map((value) => {
      const channel = Number(value) / 255;
      return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (element) => {
    for (let current = element; current; current = current.parentElement) {
      const color = getComputedStyle(current).backgroundColor;
      if (color && color !== 'transparent' && !/rgba\(.*, 0\)$/.test(color)) return color;
    }
    return 'rgb(255, 255, 255)';
  };
  const texts = [...document.querySelectorAll('h1, h2, h3, p, a')].filter(
    (element) => element.offsetParent !== null && element.textContent?.trim(),
  );
  let lowest = { ratio: 21, text: '' };
  for (const element of texts) {
    const [light, dark] = [luminance(getComputedStyle(element).color), luminance(background(element))].sort(
      (a, b) => b - a,
    );
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < lowest.ratio) lowest = { ratio, text: element.textContent?.trim().slice(0, 60) ?? '' };
  }
  const preheader = document.querySelector('body div[aria-hidden="true"]');
  const headings = (tag) => [...document.querySelectorAll(tag)].map((element) => element.textContent?.trim() ?? '');
  return {
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    direction: getComputedStyle(document.querySelector('h1') ?? document.body).direction,
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    headings: { h1: headings('h1'), h2: headings('h2'), h3: headings('h3') },
    images: [...document.images].map((image) => ({
      alt: image.getAttribute('alt'),
      width: image.getAttribute('width'),
      height: image.getAttribute('height'),
    })),
    preheader: {
      text: preheader?.textContent ?? '',
      display: preheader ? getComputedStyle(preheader).display : '',
      visible: preheader ? preheader.getClientRects().length > 0 : false,
    },
    bodyText: document.body.innerText,
    metas: [...document.querySelectorAll('meta[name]')].map(
      (meta) => `${meta.getAttribute('name')}=${meta.getAttribute('content')}`,
    ),
    lowestContrast: lowest,
    pwned: window.__pwned,
  };
};
