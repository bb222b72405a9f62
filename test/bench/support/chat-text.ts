// Realistic chat lines for benchmarks, from a seed: lengths follow a log-normal distribution
// (most lines short, a long tail of paragraphs), words from everyday English, with some
// accented words, emoji and links, so UTF-8 sizes are not all ASCII-sized.
import { seededRandom, type Random } from '../../support/seeded-random'

const WORDS = (
  'the be to of and a in that have I it for not on with he as you do at this but his by from ' +
  'they we say her she or an will my one all would there their what so up out if about who get ' +
  'which go me when make can like time no just him know take people into year your good some ' +
  'could them see other than then now look only come its over think also back after use two how ' +
  'our work first well way even new want because any these give day most us is are was were ' +
  'meeting tomorrow tonight lunch coffee sounds great thanks ok sure maybe later sorry yes haha ' +
  'deploy build test review merge branch issue ticket bug fix release call link doc slides ' +
  'weekend train late home office kids dinner pizza movie game weather rain sunny'
).split(' ')
const FLAVOUR = ['café', 'naïve', 'Zürich', 'façade', 'déjà vu', '👍', '😂', '🎉', '🙏', '❤️', '→']
const LINK = 'https://example.org/notes/2024/roadmap?section=3'

/** Median ~40 characters, mean ~60; capped well below the 4000-character limit. */
function lineLength(random: Random): number {
  // Box–Muller: a standard normal variate from two uniforms.
  const normal = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next())
  return Math.max(2, Math.min(1500, Math.round(Math.exp(Math.log(40) + 0.8 * normal))))
}

export function chatLines(seed: number): () => string {
  const random = seededRandom(seed)
  return () => {
    const target = lineLength(random)
    const words: string[] = []
    let length = 0
    while (length < target) {
      const word = random.chance(0.04)
        ? random.pick(FLAVOUR)
        : random.chance(0.003)
          ? LINK
          : random.pick(WORDS)
      words.push(word)
      length += word.length + 1
    }
    const line = words.join(' ')
    return line[0].toUpperCase() + line.slice(1) + (random.chance(0.3) ? '?' : '')
  }
}

export const utf8Length = (text: string): number => new TextEncoder().encode(text).length
