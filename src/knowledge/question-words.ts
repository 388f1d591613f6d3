/**
 * Words that ask rather than name what is asked about, by text-search configuration: "how much", "how long
 * does it take", "wie lange dauert", "quanto tempo demora". Postgres' stop lists (written for documents) keep
 * them, and an answer seldom has them ("A cappuccino is £3.20" has no "much"), so a question is searched
 * without them. Only the question: passages are indexed as they are.
 */
const QUESTION_WORDS: Record<string, string[]> = {
  english: [
    ...["much", "many", "long", "often", "soon", "far", "take", "takes", "took", "get", "gets", "got"],
    ...["need", "needs", "could", "would", "may", "might", "must", "shall", "please", "tell", "know"],
    ...["want", "happen", "happens", "possible", "ok", "okay", "anything", "something"],
  ],
  german: [
    ...["viel", "viele", "vielen", "lange", "dauert", "dauern", "wann", "hoch", "oft", "weit", "bekomme", "bekommt"],
    ...["bekommen", "könnt", "kann", "muss", "darf", "gibt", "brauche", "brauchen", "möchte", "möchten", "bitte"],
    ...["mal", "passiert", "geht", "genau", "möglich"],
  ],
  portuguese: [
    ...["quanto", "quanta", "quantos", "quantas", "tempo", "dura", "demora", "leva", "posso", "pode", "podem"],
    ...["preciso", "existe", "gostaria", "favor", "acontece", "possível", "qual", "quais", "onde", "quando", "como"],
  ],
  spanish: [
    ...["cuánto", "cuánta", "cuántos", "cuántas", "cuanto", "cuanta", "cuantos", "cuantas", "tiempo", "tarda", "dura"],
    ...["puedo", "puede", "pueden", "necesito", "pasa", "posible", "cómo", "dónde", "cuándo", "cuál", "cuáles", "qué"],
  ],
  french: [
    ...["combien", "temps", "faut", "peut", "peux", "puis", "pouvez", "quand", "comment", "où", "quel", "quelle"],
    ...["quels", "quelles", "dois", "voudrais", "possible"],
  ],
  italian: [
    ...["quanto", "quanta", "quanti", "quante", "tempo", "dura", "posso", "può", "possono", "devo", "quando"],
    ...["dove", "quale", "quali", "vorrei", "possibile"],
  ],
};
const BY_CONFIG = new Map(Object.entries(QUESTION_WORDS).map(([config, words]) => [config, new Set(words)]));

/** The question's words without those that only ask, in this configuration's language. */
export function withoutQuestionWords(config: string, words: string[]): string[] {
  const asking = BY_CONFIG.get(config);
  return asking ? words.filter((w) => !asking.has(w)) : words;
}
