import { startFakeOpenAI } from "../test/fakes/openai-server";

// The model of the `model` figure: the fake OpenAI-compatible server in a process of its own, so that its
// thousand streams do not share the bench's event loop. Each answer is `pieces` words, the first after
// `firstPieceMs` and each after `pieceMs` more, as a model writing a few words at a time does.

export interface FakeModelSpec {
  firstPieceMs: number;
  pieces: number;
  pieceMs: number;
}

const spec = JSON.parse(process.argv[2]) as FakeModelSpec;
const WORDS = "We are open from nine in the morning to six in the evening on weekdays, and until noon on Saturdays.".split(" ");
const answer = Array.from({ length: spec.pieces }, (_, i) => WORDS[i % WORDS.length]).join(" ");

startFakeOpenAI().then((fake) => {
  fake.setReply(() => answer);
  fake.setDelay(spec.firstPieceMs);
  fake.setPieceDelay(spec.pieceMs);
  // The fake keeps every request for tests to read; a bench sends hundreds a second, each with its history.
  setInterval(() => fake.requests.splice(0), 1000);
  console.log(JSON.stringify({ url: fake.url }));
});
