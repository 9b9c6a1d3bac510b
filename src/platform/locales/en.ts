import type { LocaleMeta, PluralText, Text } from './types.ts';

/**
 * English: the reference every other locale file follows (same keys, same placeholders; see
 * tests/unit/locales.test.ts). Readers see these words; the console stays English on its own.
 * Placeholders are filled with escaped values, so a translation is always text, never markup.
 */
export const strings = {
  // Greetings, composed per reader at send time.
  'greeting.evening': 'Good evening',
  'greeting.hello': 'Hello',
  'greeting.withName': '{salutation}, {name}',

  // The digest.
  'digest.intro': {
    one: '{greeting}, here is tonight’s selection: one story chosen by our editors.',
    other: '{greeting}, here is tonight’s selection: {count} stories chosen by our editors.',
  },
  'digest.otherSection': 'More news',
  'digest.readMore': 'Read more',
  'digest.viewInBrowser': 'View in browser',
  'digest.moreStories': {
    one: 'One more story in the browser version',
    other: '{count} more stories in the browser version',
  },
  'digest.goodNight': 'Good night from the {newsletter} desk.',
  'digest.links': 'Links',
  'digest.why': 'You receive {newsletter} because {email} subscribed at {site}.',
  'digest.unsubscribeOneClick': 'Unsubscribe with one click',

  // Words every reader email shares.
  'email.unsubscribe': 'Unsubscribe',
  'email.preferences': 'Preferences',

  // The confirmation email.
  'confirm.subject': 'Please confirm your subscription to {newsletter}',
  'confirm.preheader': 'One click and you will get tonight’s edition.',
  'confirm.body':
    '{greeting}, please confirm that you want {newsletter} at {email}: one email every evening with the day’s essential journalism.',
  'confirm.button': 'Confirm my subscription',
  'confirm.validity': { one: 'The link works for one hour.', other: 'The link works for {count} hours.' },
  'confirm.ignore':
    'If you did not ask for this, ignore this email: without a confirmation you will get nothing more from us.',
  'confirm.fallback': 'If the button does not work, open this address: {url}',

  // The welcome email.
  'welcome.subject': 'Welcome to {newsletter}',
  'welcome.preheader': 'Your first edition arrives at {time}.',
  'welcome.body':
    '{greeting}, you are subscribed. Every evening at {time}, {email} will get one email: the day’s essential hard news and our best feature journalism, chosen by our editors.',
  'welcome.contacts': 'So that it reaches your inbox, add {address} to your contacts.',
  'welcome.preferencesLink': 'Your preferences',
  'welcome.preferences': '{link}: how we greet you, and designed or plain-text email.',
  'welcome.unsubscribe': '{link} at any time with one click; the same link is at the bottom of every edition.',

  // Reader pages.
  'page.subscribe.title': 'Subscribe',
  'page.subscribe.lead':
    'Every evening at {time}: the day’s essential hard news and our best feature journalism, chosen by our editors, in one email.',
  'page.subscribe.email': 'Email address',
  'page.subscribe.name': 'First name (optional)',
  'page.subscribe.button': 'Subscribe',
  'page.subscribe.note':
    'We will send you one email to confirm. You can leave with one click at the bottom of every edition.',
  'page.subscribe.archive': 'Read past editions',
  'page.subscribe.problem': 'Please check your {field}: {reason}.',
  'page.checkInbox.title': 'Check your inbox',
  'page.checkInbox.text':
    'Thank you. If this address can receive our newsletter, a confirmation email is on its way: click the link in it to start receiving the digest.',
  'page.slowDown.title': 'Slow down',
  'page.slowDown.heading': 'Too many attempts',
  'page.slowDown.text': 'Please try again in an hour.',
  'page.link.title': 'Link problem',
  'page.link.heading': 'This link does not work',
  'page.link.malformed': 'This link is incomplete. Please copy the whole address from the email.',
  'page.link.forged': 'This link is not valid.',
  'page.link.expired': 'This link has expired. Please subscribe again to get a new one.',
  'page.link.superseded': 'A newer confirmation email replaced this one. Please use the link in the latest email.',
  'page.link.unknown': 'We could not find this subscription.',
  'page.link.notAllowed': 'This subscription cannot be confirmed. Please subscribe again.',
  'page.subscribed.title': 'Subscribed',
  'page.subscribed.heading': 'You are subscribed',
  'page.subscribed.already': '{email} already receives {newsletter} every evening.',
  'page.subscribed.now': '{email} will receive {newsletter} every evening.',
  'page.confirm.title': 'Confirm',
  'page.confirm.heading': 'Confirm your subscription',
  'page.confirm.text': 'Receive {newsletter} at {email}, one email every evening?',
  'page.confirm.note':
    'If you did not ask for this, close this page: without a confirmation you will get nothing more from us.',
  'page.unsubscribe.title': 'Unsubscribe',
  'page.unsubscribe.text': 'Stop receiving {newsletter}? You will get no further editions.',
  'page.unsubscribed.title': 'Unsubscribed',
  'page.unsubscribed.heading': 'You are unsubscribed',
  'page.unsubscribed.text': '{email} will receive no further editions. You can subscribe again at any time.',
  'page.preferences.title': 'Preferences',
  'page.preferences.heading': 'Your subscription',
  'page.preferences.receiving': '{newsletter} for {email}: you receive it every evening.',
  'page.preferences.state': '{newsletter} for {email}: currently {state}.',
  'page.preferences.name': 'How we greet you (optional)',
  'page.preferences.format': 'Email format',
  'page.preferences.html': 'Designed (with a plain-text copy for simple mail programs)',
  'page.preferences.text': 'Plain text only',
  'page.preferences.save': 'Save',
  'page.preferences.saved': 'Saved.',
  'page.preferences.notSaved': 'Not saved: {reason}.',
  'page.preferences.subscribeAgain': 'Subscribe again',
  'page.archive.title': 'Past editions',
  'page.archive.empty': 'No edition has been sent yet.',
  'page.archive.subscribe': 'Subscribe to {newsletter}',
  'page.notFound.title': 'Not found',
  'page.notFound.heading': 'No such edition',
  'page.notFound.text': 'There is no edition with this date.',
  'page.manage.title': 'Manage your subscription',
  'page.manage.heading': 'Your own links are in your email',
  'page.manage.text':
    'To unsubscribe or to change your preferences, use the links at the bottom of any edition of {newsletter} in your inbox: they are yours alone, which is why they work without a password. This page, like the browser version, is the same for everyone and cannot tell who you are.',
  'page.manage.subscribe': 'Not subscribed yet? Subscribe to {newsletter}',

  // Subscription states, as the preferences page names them.
  'state.pending': 'waiting for confirmation',
  'state.confirmed': 'subscribed',
  'state.unsubscribed': 'unsubscribed',
  'state.bounced': 'stopped because mail to it bounced',
  'state.complained': 'stopped after a spam report',

  // What is wrong with a form field (the fields' names, then the problems).
  'field.email': 'email',
  'field.name': 'name',
  'problem.email.required': 'email is required',
  'problem.email.tooLong': 'email is longer than 254 characters',
  'problem.email.characters': 'email contains characters that are not allowed',
  'problem.email.oneAt': 'email must have one @',
  'problem.email.localPart': 'the part before @ is not valid',
  'problem.email.domain': 'the domain is not valid',
  'problem.name.notText': 'name must be text',
  'problem.name.tooLong': 'name is longer than 100 characters',
  'problem.name.control': 'name contains control characters',
  'problem.name.invisible': 'name contains invisible formatting characters (such as text direction marks)',
  'problem.format': 'the email format must be html or text',
} satisfies Record<string, Text>;

export const meta: LocaleMeta = { name: 'English', intl: 'en-GB', dir: 'ltr' };

export type MessageKey = keyof typeof strings;

/** What every locale file provides: each key of English, plural where English is plural. */
export interface LocaleFile {
  meta: LocaleMeta;
  strings: { [K in MessageKey]: (typeof strings)[K] extends string ? string : PluralText };
}

export default { meta, strings } satisfies LocaleFile;
