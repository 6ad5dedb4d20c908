import { useTranslation } from 'react-i18next';
import { setLanguage } from '../i18n/i18n.ts';
import { useUiStore } from '../ui/store.ts';
import { useLanguage } from './hooks.ts';

/** Toggles Persian / English at runtime; the button names the language it switches to. */
export function LanguageSwitch() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const next = lang === 'fa' ? 'en' : 'fa';
  return (
    <button
      type="button"
      className="link-button"
      data-testid="lang-switch"
      lang={next}
      aria-label={t('nav.languageLabel')}
      onClick={() => {
        void setLanguage(next).then(() => useUiStore.getState().setLang(next));
      }}
    >
      {t('nav.language')}
    </button>
  );
}
