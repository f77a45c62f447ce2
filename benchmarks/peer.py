"""A realistic peer for figure 1: the same intake as a typical small aiogram bot writes it.

aiogram's FSMContext (MemoryStorage) holds where the buyer is; SQLAlchemy 2 (async ORM on
aiosqlite, a SQLite file in WAL mode) stores the dispute, its answers and evidence; each
answer is committed before the next question goes out; a tap is answered (spinner), the
old question edited and the next one sent, as the bot does. It is driven by the very
Update objects the full stack gets (``throughput.run``), so both do the same amount of
conversation. It has none of the bot's own work (parsing and validating the answers,
deadlines, reminders, i18n, de-duplication, the explanation text): it is the cost of the
usual framework stack per update, which the bare echo is not.
"""
from __future__ import annotations

from pathlib import Path

from aiogram import Bot, Dispatcher, F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import ForeignKey, Integer, String, Text, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STEPS = ["reason", "received", "defect", "solution", "order_number", "total", "shipped_on", "protection",
         "amount", "evidence"]


class Base(DeclarativeBase):
    pass


class Dispute(Base):
    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    step: Mapped[str] = mapped_column(String(32))
    answers: Mapped[str] = mapped_column(Text, default="")


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)


class Intake(StatesGroup):
    answering = State()


def _keyboard(dispute_id: int, step: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text="Yes", callback_data=f"p:{dispute_id}:{step}:yes"),
         InlineKeyboardButton(text="No", callback_data=f"p:{dispute_id}:{step}:no")],
        [InlineKeyboardButton(text="⬅️ Back", callback_data=f"p:{dispute_id}:back"),
         InlineKeyboardButton(text="✖️ Cancel", callback_data=f"p:{dispute_id}:cancel")]])


async def open_engine(db_path: Path) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(conn, _record) -> None:
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return engine


def peer_dispatcher(engine: AsyncEngine) -> Dispatcher:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    dp = Dispatcher(storage=MemoryStorage())

    async def new_dispute(user_id: int, state: FSMContext, bot: Bot) -> None:
        async with sessions() as s, s.begin():
            d = Dispute(user_id=user_id, step=STEPS[0])
            s.add(d)
        await state.set_state(Intake.answering)
        await state.update_data(dispute_id=d.id)
        await bot.send_message(user_id, f"Step 1 of {len(STEPS)}: {STEPS[0]}?", reply_markup=_keyboard(d.id, d.step))

    async def record(user_id: int, state: FSMContext, bot: Bot, answer: str, kind: str | None = None) -> None:
        data = await state.get_data()
        async with sessions() as s, s.begin():
            d = await s.get(Dispute, data.get("dispute_id"))
            if d is None or d.user_id != user_id:
                await bot.send_message(user_id, "Send /new to start a dispute.")
                return
            if kind:
                s.add(Evidence(dispute_id=d.id, kind=kind, content=answer))
            else:
                d.answers += f"{d.step}={answer};"
                d.step = STEPS[min(STEPS.index(d.step) + 1, len(STEPS) - 1)]
        # Committed: now the reply.
        step = STEPS.index(d.step) + 1
        await bot.send_message(user_id, f"Saved. Step {step} of {len(STEPS)}: {d.step}?",
                               reply_markup=_keyboard(d.id, d.step))

    async def on_start(message: Message, state: FSMContext, bot: Bot) -> None:
        await new_dispute(message.from_user.id, state, bot)

    async def on_help(message: Message) -> None:
        await message.answer("Answer the questions; /new starts over.")

    async def on_text(message: Message, state: FSMContext, bot: Bot) -> None:
        if message.photo or message.video or message.forward_origin:
            kind = "photo" if message.photo else "video" if message.video else "forward"
            content = (message.photo[-1].file_id if message.photo else message.video.file_id if message.video
                       else message.text or "")
            await record(message.from_user.id, state, bot, content, kind)
            return
        await record(message.from_user.id, state, bot, message.text or "")

    async def on_button(callback: CallbackQuery, state: FSMContext, bot: Bot) -> None:
        await callback.answer()
        if callback.data and callback.data.startswith("new"):
            await new_dispute(callback.from_user.id, state, bot)
            return
        value = (callback.data or "").rsplit(":", 1)[-1]
        if isinstance(callback.message, Message) and callback.message.text:
            await callback.message.edit_text(f"{callback.message.text}\n→ {value}", reply_markup=None)
        await record(callback.from_user.id, state, bot, value)

    dp.message.register(on_start, F.text.in_({"/start", "/new"}))
    dp.message.register(on_help, F.text.startswith("/"))
    dp.message.register(on_text)
    dp.callback_query.register(on_button)
    return dp
